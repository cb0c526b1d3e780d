% # The comments of a moderation list, inside its bulk form: the queue and the commenter view.
<ol class="comments">
% for c in comments:
<li class="comment status-{{c.status.value}}" id="c{{c.id}}">
<div class="meta">
<input type="checkbox" name="ids" value="{{c.id}}" id="pick-{{c.id}}">
<label for="pick-{{c.id}}"><strong class="author">{{c.author or "anonymous"}}</strong> <span class="id">#{{c.id}}</span></label>
<span class="badge">{{c.status.value}}</span>
% if c.pinned:
<span class="badge pinned">pinned</span>
% end
% if c.kind == "fediverse":
<span class="badge webmention">fediverse reply</span>
% elif c.kind != "comment":
<span class="badge webmention">webmention {{c.kind}}</span>
% end
% if c.id in reports:
<span class="badge reported">{{reports[c.id]}}</span>
% end
</div>
<p class="details">
% if c.email:
<a class="email" href="/admin/commenter/email?{{query(email=c.email)}}" title="Every comment by this email">{{c.email}}</a>
% end
% if c.website:
<span class="website">{{c.website}}</span>
% end
% if c.source:
% # a Webmention's source page, to check it; a link only when it is http(s)
% if c.source.lower().startswith(("http://", "https://")):
<span class="via">via <a href="{{c.source}}" rel="nofollow ugc noopener noreferrer">{{c.source}}</a></span>
% else:
<span class="via">via {{c.source}}</span>
% end
% end
<span>on <a href="{{thread_link(c.thread.uri)}}">{{c.thread.uri}}</a></span>
<span><time datetime="{{c.created.isoformat()}}Z">{{when(c.created)}}</time></span>
% if c.remote_addr:
<span>from <a class="network" href="/admin/commenter/network?{{query(network=c.remote_addr)}}" title="Every comment from this network">{{c.remote_addr}}</a></span>
% end
</p>
<div class="body" dir="auto">{{!c.html}}</div>
<p class="row-actions"><a href="/admin/comments/{{c.id}}">Edit or pin comment #{{c.id}}</a>
% include("ban_buttons.tpl", c=c)
</p>
</li>
% end
</ol>

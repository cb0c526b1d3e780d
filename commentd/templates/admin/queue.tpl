% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
<nav class="tabs" aria-label="Status">
<ul>
% for name in statuses:
<li><a href="{{link(status=name, page=1)}}"{{!' aria-current="page"' if filters["status"] == name else ''}}>{{name}} <span class="count">{{sum(counts.values()) if name == "all" else counts.get(name, 0)}}</span></a></li>
% end
</ul>
</nav>
<form method="get" action="/admin" class="filters" role="search">
<input type="hidden" name="status" value="{{filters['status']}}">
<p>
<label for="q">Search text, author or email</label>
<input type="search" id="q" name="q" value="{{filters['q']}}">
</p>
<p>
<label for="thread">Thread (uri)</label>
<input type="text" id="thread" name="thread" value="{{filters['thread']}}" placeholder="/posts/hello/">
</p>
<p><button type="submit">Filter</button>
% if filters["q"] or filters["thread"]:
<a href="{{link(q='', thread='', page=1)}}">Clear</a>
% end
</p>
</form>
<p class="summary">{{page.total}} {{filters["status"] if filters["status"] != "all" else ""}} comment(s){{", page %d of %d" % (number, pages) if pages > 1 else ""}}.</p>
% if page.comments:
<form method="post" action="/admin/comments" class="bulk">
<input type="hidden" name="csrf" value="{{csrf}}">
% for key in ("status", "thread", "q"):
<input type="hidden" name="{{key}}" value="{{filters[key]}}">
% end
<input type="hidden" name="page" value="{{number}}">
<div class="actions">
<label class="select-all" hidden><input type="checkbox" data-select-all> Select all</label>
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="spam">Spam</button>
<button type="submit" name="action" value="delete" class="danger">Delete</button>
</div>
<ol class="comments">
% for c in page.comments:
<li class="comment status-{{c.status.value}}" id="c{{c.id}}">
<div class="meta">
<input type="checkbox" name="ids" value="{{c.id}}" id="pick-{{c.id}}">
<label for="pick-{{c.id}}"><strong class="author">{{c.author or "anonymous"}}</strong> <span class="id">#{{c.id}}</span></label>
<span class="badge">{{c.status.value}}</span>
% if c.pinned:
<span class="badge pinned">pinned</span>
% end
% if c.id in page.reports:
<span class="badge reported">{{page.reports[c.id]}}</span>
% end
</div>
<p class="details">
% if c.email:
<span class="email">{{c.email}}</span>
% end
% if c.website:
<span class="website">{{c.website}}</span>
% end
<span>on <a href="{{link(thread=c.thread.uri, status='all', page=1)}}">{{c.thread.uri}}</a></span>
<span><time datetime="{{c.created.isoformat()}}Z">{{when(c.created)}}</time></span>
% if c.remote_addr:
<span>from {{c.remote_addr}}</span>
% end
</p>
<div class="body" dir="auto">{{!c.html}}</div>
<p><a href="/admin/comments/{{c.id}}">Edit or pin comment #{{c.id}}</a></p>
</li>
% end
</ol>
</form>
% else:
<p class="empty">Nothing here.</p>
% end
% if pages > 1:
<nav class="pager" aria-label="Pages">
% if number > 1:
<a href="{{link(page=number - 1)}}" rel="prev">Previous page</a>
% end
% if number < pages:
<a href="{{link(page=number + 1)}}" rel="next">Next page</a>
% end
</nav>
% end

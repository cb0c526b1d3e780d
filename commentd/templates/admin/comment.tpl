% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
<p class="details">
<span class="badge">{{comment.status.value}}</span>
% if comment.pinned:
<span class="badge pinned">pinned</span>
% end
% if reports:
<span class="badge reported">{{reports}}</span>
% end
<span>by <strong>{{comment.author or "anonymous"}}</strong></span>
% if comment.email:
<span class="email">{{comment.email}}</span>
% end
% if comment.remote_addr:
<span>from {{comment.remote_addr}}</span>
% end
<span>on <a href="/admin?{{query(status='all', thread=comment.thread.uri)}}">{{comment.thread.uri}}</a></span>
<span><time datetime="{{comment.created.isoformat()}}Z">{{when(comment.created)}}</time></span>
</p>
<div class="body" dir="auto">{{!comment.html}}</div>
% if comment.email or comment.remote_addr:
<h2>The commenter</h2>
<ul class="commenter">
% if comment.email:
<li><a href="/admin/commenter/email?{{query(email=comment.email)}}">Every comment by this email</a></li>
<li><a href="/admin/commenter/email?{{query(email="@" + comment.email.rsplit("@", 1)[-1])}}">Every comment from an address at @{{comment.email.rsplit("@", 1)[-1]}}</a></li>
% end
% if comment.remote_addr:
<li><a href="/admin/commenter/network?{{query(network=comment.remote_addr)}}">Every comment from this network</a></li>
% end
</ul>
<form method="post" action="/admin/comments/{{comment.id}}/ban" class="row-actions">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="back" value="comment">
% include("ban_buttons.tpl", c=comment)
</form>
% end
% if comment.status.value != "deleted":
<form method="post" action="/admin/comments" class="row-actions">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="ids" value="{{comment.id}}">
<input type="hidden" name="status" value="all">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="spam">Spam</button>
<button type="submit" name="action" value="delete" class="danger">Delete</button>
</form>
% if comment.parent_id is None and (comment.status.value == "approved" or comment.pinned):
<form method="post" action="/admin/comments/{{comment.id}}/pin" class="row-actions">
<input type="hidden" name="csrf" value="{{csrf}}">
% if comment.pinned:
<input type="hidden" name="pinned" value="0">
<button type="submit">Unpin</button>
% else:
<input type="hidden" name="pinned" value="1">
<button type="submit">Pin to the top of the thread</button>
% end
</form>
% end
<h2>Edit</h2>
% if message:
<p class="error" role="alert">{{message}}</p>
% end
<form method="post" action="/admin/comments/{{comment.id}}" class="edit">
<input type="hidden" name="csrf" value="{{csrf}}">
<p>
<label for="text">Text (Markdown)</label>
<textarea id="text" name="text" rows="8" required>{{values["text"]}}</textarea>
</p>
<p>
<label for="author">Author</label>
<input type="text" id="author" name="author" value="{{values['author']}}">
</p>
<p>
<label for="website">Website</label>
<input type="url" id="website" name="website" value="{{values['website']}}">
</p>
<p><button type="submit">Save</button></p>
</form>
% end
<p><a href="/admin">Back to the queue</a></p>

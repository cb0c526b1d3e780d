% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
% if rows:
<div class="table">
<table>
<thead><tr><th scope="col">Thread</th><th scope="col">Approved</th><th scope="col">Pending</th><th scope="col">State</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
<tbody>
% for row in rows:
<tr>
<td data-label="Thread"><a href="/admin?{{query(status='all', thread=row.thread.uri)}}">{{row.thread.uri}}</a>
% if row.thread.title:
<br><span class="title">{{row.thread.title}}</span>
% end
</td>
<td data-label="Approved">{{row.approved}}</td>
<td data-label="Pending">{{row.pending}}</td>
<td data-label="State">{{"locked" if row.thread.locked else ("closed (by age)" if row.closed else "open")}}</td>
<td>
<form method="post" action="/admin/threads/lock">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="thread" value="{{row.thread.id}}">
% if row.thread.locked:
<input type="hidden" name="locked" value="0">
<button type="submit">Unlock <span class="sr-only">{{row.thread.uri}}</span></button>
% else:
<input type="hidden" name="locked" value="1">
<button type="submit">Lock <span class="sr-only">{{row.thread.uri}}</span></button>
% end
</form>
</td>
</tr>
% end
</tbody>
</table>
</div>
% else:
<p class="empty">No threads yet.</p>
% end
<nav class="pager" aria-label="Pages">
% if number > 1:
<a href="{{link(page=number - 1)}}" rel="prev">Previous page</a>
% end
% if more:
<a href="{{link(page=number + 1)}}" rel="next">Next page</a>
% end
</nav>

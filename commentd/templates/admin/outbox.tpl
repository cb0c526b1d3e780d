% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
<nav class="tabs" aria-label="Status">
<ul>
<li><a href="/admin/outbox"{{!' aria-current="page"' if not status else ''}}>all <span class="count">{{sum(counts.values())}}</span></a></li>
% for name, count in counts.items():
<li><a href="/admin/outbox?{{query(status=name)}}"{{!' aria-current="page"' if status == name else ''}}>{{name}} <span class="count">{{count}}</span></a></li>
% end
</ul>
</nav>
% if rows:
<div class="table">
<table>
<thead><tr><th scope="col">#</th><th scope="col">Kind</th><th scope="col">To</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Next attempt</th><th scope="col">Last error</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
<tbody>
% for m in rows:
<tr class="message status-{{m.status}}">
<td data-label="#">{{m.id}}</td>
<td data-label="Kind">{{m.kind}}</td>
<td data-label="To" class="wrap">{{m.recipient}}</td>
<td data-label="Status">{{m.status}}{{(" " + when(m.sent)) if m.sent else ""}}</td>
<td data-label="Attempts">{{m.attempts}}</td>
<td data-label="Next attempt">{{when(m.next_attempt) if m.status == "pending" else "-"}}</td>
<td data-label="Last error" class="wrap">{{m.last_error or "-"}}</td>
<td>
% if m.status == "failed":
<form method="post" action="/admin/outbox/{{m.id}}/retry">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Retry <span class="sr-only">message {{m.id}}</span></button>
</form>
% end
</td>
</tr>
% end
</tbody>
</table>
</div>
% else:
<p class="empty">No messages.</p>
% end
<nav class="pager" aria-label="Pages">
% if number > 1:
<a href="{{link(page=number - 1)}}" rel="prev">Newer</a>
% end
% if more:
<a href="{{link(page=number + 1)}}" rel="next">Older</a>
% end
</nav>

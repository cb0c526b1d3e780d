% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
% if rows:
<div class="table">
<table>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">From</th><th scope="col">What</th><th scope="col">On</th><th scope="col">Detail</th></tr></thead>
<tbody>
% for entry in rows:
<tr class="entry">
<td data-label="When"><time datetime="{{entry.created.isoformat()}}Z">{{when(entry.created)}}</time></td>
<td data-label="Who">{{entry.actor}}{{(" (%s)" % entry.actor_name) if entry.actor_name else ""}}</td>
<td data-label="From">{{entry.address or "-"}}</td>
<td data-label="What">{{entry.action}}</td>
<td data-label="On">
% if entry.target_type == "comment" and entry.target_id:
<a href="/admin/comments/{{entry.target_id}}">comment #{{entry.target_id}}</a>
% elif entry.target_id:
{{entry.target_type}} #{{entry.target_id}}
% else:
{{entry.target_type}}
% end
</td>
<td data-label="Detail">{{", ".join("%s: %s" % (key, value) for key, value in sorted(detail(entry).items()))}}</td>
</tr>
% end
</tbody>
</table>
</div>
% else:
<p class="empty">Nothing has been done yet.</p>
% end
<nav class="pager" aria-label="Pages">
% if number > 1:
<a href="{{link(page=number - 1)}}" rel="prev">Newer</a>
% end
% if more:
<a href="{{link(page=number + 1)}}" rel="next">Older</a>
% end
</nav>

% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
<p>New comments that match a ban are refused (or held, with <code>moderation.blocklist_action = hold</code>), like the blocklists in the configuration; a ban reaches every process within seconds.</p>
<h2>Add a ban</h2>
% if message:
<p class="error" role="alert">{{message}}</p>
% end
<form method="post" action="/admin/bans" class="add-ban">
<input type="hidden" name="csrf" value="{{csrf}}">
<p>
<label for="kind">Kind</label>
<select id="kind" name="kind">
% for name, label in kinds:
<option value="{{name}}"{{!' selected' if values["kind"] == name else ''}}>{{label}}</option>
% end
</select>
</p>
<p>
<label for="value">Value</label>
<input type="text" id="value" name="value" value="{{values['value']}}" maxlength="256" required aria-describedby="value-help">
<span id="value-help" class="help">An email address or <code>@domain</code>; an IP address or CIDR network (<code>203.0.113.0/24</code>); a word or phrase (whole words, any case).</span>
</p>
<p>
<label for="reason">Reason (optional, for the other moderators)</label>
<input type="text" id="reason" name="reason" value="{{values['reason']}}" maxlength="256">
</p>
<p><button type="submit">Ban</button></p>
</form>
<h2>Bans <span class="count">{{total}}</span></h2>
% if rows:
<div class="table">
<table>
<thead><tr><th scope="col">Kind</th><th scope="col">Value</th><th scope="col">Since (UTC)</th><th scope="col">Reason</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
<tbody>
% for ban in rows:
<tr class="ban">
<td data-label="Kind">{{ban.kind}}</td>
<td data-label="Value" class="wrap">{{ban.value}}</td>
<td data-label="Since"><time datetime="{{ban.created.isoformat()}}Z">{{when(ban.created)}}</time></td>
<td data-label="Reason" class="wrap">{{ban.reason or "-"}}</td>
<td>
<form method="post" action="/admin/bans/{{ban.id}}/remove">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Remove <span class="sr-only">the ban of {{ban.kind}} {{ban.value}}</span></button>
</form>
</td>
</tr>
% end
</tbody>
</table>
</div>
% else:
<p class="empty">Nobody is banned.</p>
% end
<nav class="pager" aria-label="Pages">
% if number > 1:
<a href="{{link(page=number - 1)}}" rel="prev">Previous page</a>
% end
% if more:
<a href="{{link(page=number + 1)}}" rel="next">Next page</a>
% end
</nav>

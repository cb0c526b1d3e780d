% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
<nav class="tabs" aria-label="Period">
<ul>
% for choice in periods:
<li><a href="/admin/spam?{{query(days=choice)}}"{{!' aria-current="page"' if report.days == choice else ''}}>{{choice}} days</a></li>
% end
</ul>
</nav>
<p>Since {{report.since.isoformat()}}: {{report.comments}} new comments. The spam filter has learned from {{model[0]}} spam and {{model[1]}} approved comments.</p>
<div class="table">
<table>
<caption>What each signal caught, and how many of its catches a moderator approved since</caption>
<thead><tr><th scope="col">Signal</th><th scope="col">Caught</th><th scope="col">Held or spam</th><th scope="col">Refused</th><th scope="col">Approved since</th></tr></thead>
<tbody>
% for s in report.signals:
<tr class="signal">
<th scope="row" data-label="Signal">{{s.signal.replace("_", " ")}}</th>
<td data-label="Caught">{{s.caught}}</td>
<td data-label="Held or spam">{{s.stored}}</td>
<td data-label="Refused">{{s.refused}}</td>
<td data-label="Approved since">{{s.approved}}</td>
</tr>
% end
</tbody>
</table>
</div>

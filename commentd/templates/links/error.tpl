% rebase('links/layout.tpl', title=title, style=style)
<p>{{message}}</p>
<p class="code">{{error_status}} {{code}}</p>

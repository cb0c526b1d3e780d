% rebase('links/layout.tpl', title=title, style=style)
<p class="meta">Comment {{comment_id}} by <strong>{{author}}</strong> on {{where}} · now {{comment_status}}</p>
<blockquote dir="auto">{{text}}</blockquote>
% if done:
<p>{{done}}</p>
% else:
<form method="post">
<button type="submit">{{label}}</button>
</form>
<p class="meta">Nothing changes until you press the button. The link works once.</p>
% end

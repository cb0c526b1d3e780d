% rebase('links/layout.tpl', title=title, style=style)
% if done:
<p>Thank you: this address is confirmed. You will get the notifications you asked for on this site, each with a link to stop them.</p>
% else:
<p>Someone, probably you, asked to be mailed about new comments on this site at this address. Nothing is sent until you confirm.</p>
<form method="post">
<button type="submit">Confirm</button>
</form>
<p class="meta">If it was not you, close this page: nothing more will be sent.</p>
% end

% rebase('links/layout.tpl', title=title, style=style)
% if done:
<p>You will get no more reply notifications for {{where}}, and no more mails about its new comments.</p>
% else:
<p>Stop mails about replies to your comments and about new comments on {{where}}?</p>
<form method="post">
<button type="submit">Unsubscribe</button>
</form>
% end

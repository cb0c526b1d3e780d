% rebase("base.tpl", title=title, nav=None, csrf=None, notice=None)
<p class="error" role="alert">{{message}}</p>
<p><a href="/admin">Back to the admin page</a></p>

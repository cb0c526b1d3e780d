% rebase("base.tpl", title=title, nav=None, csrf=None, notice=None)
% if message:
<p class="error" role="alert">{{message}}</p>
% end
<form method="post" action="/admin/login" class="login">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="password">Admin password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>

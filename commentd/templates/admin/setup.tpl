% rebase("base.tpl", title=title, nav=None, csrf=None, notice=None)
<p>No admin password is set yet, so nobody can sign in. There is no default password.</p>
<p>On the server, as the user that runs commentd, set one with:</p>
<pre><code>commentd admin set-password --config /path/to/commentd.ini</code></pre>
<p>It asks for the password twice (at least 10 characters). In a script, pipe it in with
<code>--password-stdin</code>. Then reload this page and sign in.</p>

<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{title}} · commentd admin</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/admin/static/admin.css">
<script src="/admin/static/admin.js" defer></script>
</head>
<body>
<header class="top">
<a class="brand" href="/admin">commentd admin</a>
% if nav:
<nav aria-label="Admin pages">
<ul>
% for key, label, href in (("queue", "Moderation", "/admin"), ("threads", "Threads", "/admin/threads"), ("bans", "Bans", "/admin/bans"), ("audit", "Audit log", "/admin/audit"), ("outbox", "Outbox", "/admin/outbox"), ("spam", "Spam", "/admin/spam")):
<li><a href="{{href}}"{{!' aria-current="page"' if nav == key else ''}}>{{label}}</a></li>
% end
</ul>
</nav>
<form method="post" action="/admin/logout" class="logout">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Sign out</button>
</form>
% end
</header>
<main>
<h1>{{title}}</h1>
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
{{!base}}
</main>
</body>
</html>

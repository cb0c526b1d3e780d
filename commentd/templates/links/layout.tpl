<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}} · commentd</title>
<style>{{!style}}</style>
</head>
<body>
<main>
<h1>{{title}}</h1>
{{!base}}
</main>
</body>
</html>

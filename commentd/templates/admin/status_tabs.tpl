% # The status tabs of a moderation list, with counts: link(status=..., page=1) is its address.
<nav class="tabs" aria-label="Status">
<ul>
% for name in statuses:
<li><a href="{{link(status=name, page=1)}}"{{!' aria-current="page"' if current == name else ''}}>{{name}} <span class="count">{{sum(counts.values()) if name == "all" else counts.get(name, 0)}}</span></a></li>
% end
</ul>
</nav>

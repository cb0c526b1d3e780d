% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
% if failed:
<p class="warning"><strong>{{failed}} message(s) in the outbox failed to send</strong> (mail or webhooks). <a href="/admin/outbox?status=failed">See the failed messages</a></p>
% end
% include("status_tabs.tpl", current=filters["status"])
<form method="get" action="/admin" class="filters" role="search">
<input type="hidden" name="status" value="{{filters['status']}}">
<p>
<label for="q">Search text, author or email</label>
<input type="search" id="q" name="q" value="{{filters['q']}}">
</p>
<p>
<label for="thread">Thread (uri)</label>
<input type="text" id="thread" name="thread" value="{{filters['thread']}}" placeholder="/posts/hello/">
</p>
<p><button type="submit">Filter</button>
% if filters["q"] or filters["thread"]:
<a href="{{link(q='', thread='', page=1)}}">Clear</a>
% end
</p>
</form>
<p class="summary">{{page.total}} {{filters["status"] if filters["status"] != "all" else ""}} comment(s){{", page %d of %d" % (number, pages) if pages > 1 else ""}}.</p>
% if page.comments:
<form method="post" action="/admin/comments" class="bulk">
<input type="hidden" name="csrf" value="{{csrf}}">
% for key in ("status", "thread", "q"):
<input type="hidden" name="{{key}}" value="{{filters[key]}}">
% end
<input type="hidden" name="page" value="{{number}}">
% include("bulk_actions.tpl")
% include("comment_list.tpl", comments=page.comments, reports=page.reports, thread_link=lambda uri: link(thread=uri, status="all", page=1))
</form>
% else:
<p class="empty">Nothing here.</p>
% end
% if pages > 1:
<nav class="pager" aria-label="Pages">
% if number > 1:
<a href="{{link(page=number - 1)}}" rel="prev">Previous page</a>
% end
% if number < pages:
<a href="{{link(page=number + 1)}}" rel="next">Next page</a>
% end
</nav>
% end

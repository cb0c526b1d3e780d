% rebase("base.tpl", title=title, nav=nav, csrf=csrf, notice=notice)
<p class="details">
% if by.email and by.email.startswith("@"):
<span>Every comment from an email address at <strong class="email">{{by.email[1:]}}</strong>, in every thread.</span>
% elif by.email:
<span>Every comment whose email is <strong class="email">{{by.email}}</strong> (in any case), in every thread.</span>
% else:
<span>Every comment from the network <strong class="network">{{network}}</strong> (as comments store it), in every thread.</span>
% end
</p>
% include("status_tabs.tpl", current=status)
<p class="summary">{{page.total}} {{status if status != "all" else ""}} comment(s){{", page %d of %d" % (number, pages) if pages > 1 else ""}}.</p>
% if page.comments:
<form method="post" action="/admin/comments" class="bulk">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="{{'email' if by.email else 'network'}}" value="{{by.email or by.network}}">
<input type="hidden" name="status" value="{{status}}">
<input type="hidden" name="page" value="{{number}}">
% include("bulk_actions.tpl")
% include("comment_list.tpl", comments=page.comments, reports=page.reports, thread_link=lambda uri: "/admin?" + query(status="all", thread=uri))
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
<p><a href="/admin">Back to the queue</a></p>

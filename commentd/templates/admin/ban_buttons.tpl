% # "Ban this email" and "Ban this network" for comment c, inside a form that carries the CSRF token.
% email_banned, network_banned = banned(c)
% if c.email:
%   if email_banned:
<span class="badge banned">email banned</span>
%   else:
<button type="submit" formaction="/admin/comments/{{c.id}}/ban" name="what" value="email">Ban this email <span class="sr-only">(comment #{{c.id}})</span></button>
%   end
% end
% if c.remote_addr:
%   if network_banned:
<span class="badge banned">network banned</span>
%   else:
<button type="submit" formaction="/admin/comments/{{c.id}}/ban" name="what" value="network">Ban this network <span class="sr-only">(comment #{{c.id}})</span></button>
%   end
% end

% # The buttons of a bulk moderation form (admin.js adds "Select all").
<div class="actions">
<label class="select-all" hidden><input type="checkbox" data-select-all> Select all</label>
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="spam">Spam</button>
<button type="submit" name="action" value="delete" class="danger">Delete</button>
</div>

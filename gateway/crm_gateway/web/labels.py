"""Words for the stable codes pages show: statuses, customer types, roles, scopes, filter names,
job states, ... Each is an English msgid marked with N_ (NC_ with a context) so `pybabel extract`
puts it in the catalogue; `label(group, code, locale)` translates it when a page is rendered.
A code without an entry shows as itself (a value newer than this table is still readable).

Adding a code: one line in its group; then `scripts/i18n.py update` and translate it in the .po."""

from __future__ import annotations

from typing import Final

from crm_gateway.i18n import N_, NC_, Locale, Msg, messages

LABELS: Final[dict[str, dict[str, Msg]]] = {
    # A customer's fields, as the timeline, exports and comparisons name them.
    "customer_field": {
        "name": N_("Name"), "type": N_("Type"), "contact_person": N_("Contact person"),
        "mobile": N_("Mobile"), "phone": N_("Phone (landline)"), "email": N_("Email"), "industry": N_("Industry"),
        "region": N_("Region"), "source": NC_("customer field", "Source"),
        "first_contact_date": NC_("date", "First contact"),
        "employees": N_("Employees"), "annual_revenue": N_("Annual revenue"),
        "annual_revenue_currency": N_("Currency"), "credit_code": N_("Unified social credit code"),
        "needs": N_("Needs"), "notes": N_("Notes"), "owner_id": N_("Owner"), "status": N_("Status"),
        "resident_id": N_("Resident ID number"), "bank_card": N_("Bank card number"), "code": N_("Code"),
        "created_at": NC_("column", "Created"), "updated_at": NC_("column", "Updated"),
    },
    "status": {
        "potential": N_("Potential"),
        "intent": N_("Intent"),
        "won": N_("Won"),
        "lost": N_("Lost"),
    },
    "type": {
        "enterprise": N_("Enterprise"),
        "individual": N_("Individual"),
    },
    "role": {
        "tenant_admin": N_("Tenant admin"),
        "sales_manager": N_("Sales manager"),
        "sales_rep": N_("Sales rep"),
        "customer_service": N_("Customer service"),
        "api_client": N_("API client"),
    },
    "scope": {
        "customers:delete": N_("Permanently erase customers (cannot be undone)"),
        "customers:reveal": N_("Reveal customers' ID and bank card numbers (audited)"),
        "customers:read": N_("Read customers"),
        "customers:write": N_("Create and change customers"),
        "customers:admin": N_("Manage customer settings and custom fields"),
        "tags:read": N_("Read tags and tag rules"),
        "tags:manage": N_("Create and apply tags and tag rules"),
        "followups:read": N_("Read follow-up tasks"),
        "followups:write": N_("Create and change follow-up tasks"),
        # data scope hardening (issue 9): cadence rules are a manager's permission
        "followups:manage": N_("Manage cadence rules"),
        "reports:read": N_("Read reports"),
        "reports:manage": N_("Publish dashboards and value rules"),
        "webhooks:manage": N_("Manage webhook endpoints"),
        "users:manage": N_("Manage users"),
        "clients:manage": N_("Manage API clients"),
        "roles:manage": N_("Manage roles"),
        "audit:read": N_("Read the audit log"),
        "tenant:backup": N_("Back up all of the company's data"),
    },
    "filter": {
        "q": N_("Search"),
        "status": N_("Status"),
        "owner_id": N_("Owner"),
        "industry": N_("Industry"),
        "region": N_("Region"),
        "source": N_("Source"),
        "type": N_("Type"),
        "created_after": N_("Created from"),
        "created_before": N_("Created before"),
        "first_contact_after": N_("First contact from"),
        "first_contact_before": N_("First contact until"),
        # The day acquired: first contact, else created (what dashboards count as new).
        "acquired_after": N_("Acquired from"),
        "acquired_before": N_("Acquired until"),
        "tag_id": N_("Tags"),
        "ids": N_("Selected"),
        "updated_after": N_("Updated from"),
        "updated_before": N_("Updated before"),
        "mobile": NC_("filter", "Mobile"),
        "email": N_("Email"),
        "code": NC_("filter", "Code"),
        "contact_person": N_("Contact person"),
        "segment_id": N_("Saved segment"),
    },
    "field.type": {
        "text": N_("Text"),
        "number": N_("Number"),
        "date": N_("Date"),
        "single_select": N_("Single choice"),
        "multi_select": N_("Multiple choice"),
        "boolean": N_("Yes / no"),
    },
    "dictionary": {
        "industry": N_("Industries"),
        "region": N_("Regions"),
        "source": N_("Sources"),
    },
    # Columns of the customer list (its column chooser and headings).
    "column": {
        "name": NC_("column", "Name"),
        "code": NC_("column", "Code"),
        "industry": NC_("column", "Industry"),
        "region": NC_("column", "Region"),
        "source": NC_("column", "Source"),
        "contact_person": NC_("column", "Contact person"),
        "mobile": NC_("column", "Mobile"),
        "email": NC_("column", "Email"),
        "status": NC_("column", "Status"),
        "owner": NC_("column", "Owner"),
        "tags": NC_("column", "Tags"),
        "created": NC_("column", "Created"),
        "updated": NC_("column", "Updated"),
    },
    "timeline.kind": {
        "created": N_("created the customer"),
        "updated": N_("edited the details"),
        "owner_changed": N_("changed the owner"),
        "status_changed": N_("changed the status"),
        "deleted": N_("deleted the customer"),
        "restored": N_("restored the customer"),
        "revealed": N_("viewed sensitive values"),
        "tag_applied": N_("added a tag"),
        "tag_removed": N_("removed a tag"),
        "task_created": N_("created a follow-up task"),
        "task_completed": N_("completed a follow-up task"),
        "order_recorded": N_("recorded an order"),
        "followup_recorded": N_("logged a follow-up"),
    },
    "bulk.why": {
        "transition_not_allowed": N_("The tenant's status rules do not allow this change"),
        "not_found": N_("No longer exists or is outside your data scope"),
        "owner_out_of_scope": N_("The new owner is outside your data scope"),
        "field_read_only": N_("Your role cannot change this field"),
        "stale_version": N_("Someone else kept changing it at the same time"),
    },
    "bulk.status": {
        "queued": N_("Waiting to start"),
        "running": N_("Changing customers"),
        "cancelling": N_("Stopping after this batch"),
        "succeeded": N_("Finished"),
        "cancelled": N_("Stopped"),
    },
    "dup.reason": {
        "credit_code": N_("Same credit code"),
        "resident_id": N_("Same resident ID"),
        "bank_card": N_("Same bank card"),
        "email": N_("Same email"),
        "phone": N_("Same phone"),
        "name": N_("Same name"),
        "name_similar": N_("Similar name"),
        "contact_person": N_("Same contact"),
        "email_domain": N_("Same email domain"),
        "region": N_("Same region"),
    },
    "dup.conflict": {
        "credit_code": N_("Different credit code"),
        "resident_id": N_("Different resident ID"),
        "bank_card": N_("Different bank card"),
    },
    "dup.scan": {
        "queued": N_("Waiting to start…"),
        "running": N_("Scanning…"),
        "succeeded": N_("Finished"),
        "failed": N_("The scan failed"),
    },
    "dup.phase": {
        "exact": N_("matching exact keys"),
        "fuzzy": N_("comparing similar names"),
        "grouping": N_("building groups"),
        "done": N_("done"),
    },
    "dup.policy": {
        "warn": N_("Save it and warn"),
        "block": N_("Refuse it (admins may override)"),
    },
    "merge.state": {
        "undoable": N_("Can be undone"),
        "undone": N_("Undone"),
        "expired": N_("Final"),
    },
    "exports.status": {
        "queued": N_("Waiting to start"),
        "running": N_("Writing the file"),
        "succeeded": N_("Ready"),
        "failed": N_("Failed"),
        "expired": N_("Expired"),
    },
    "exports.format": {
        "csv": N_("CSV (Excel, UTF-8)"),
        "xlsx": N_("Excel workbook (.xlsx)"),
    },
    "orders.status": {
        "pending": N_("Pending"),
        "confirmed": N_("Confirmed"),
        "paid": N_("Paid"),
        "cancelled": N_("Cancelled"),
        "refunded": N_("Refunded"),
    },
    "clients.kind": {
        "confidential": N_("Confidential (has a secret)"),
        "public": N_("Public (PKCE, no secret)"),
    },
    "clients.kind_short": {
        "confidential": N_("Confidential"),
        "public": N_("Public"),
    },
    "clients.grant": {
        "client_credentials": N_("Client credentials (server to server)"),
        "authorization_code": N_("Authorization code + PKCE (users sign in)"),
    },
    "audit.kind": {
        "user": N_("user"),
        "client": N_("API client"),
        "anonymous": N_("unknown"),
        "system": N_("system"),
        "automation": N_("automation rule"),
    },
    "sensitive": {
        "resident_id": N_("Resident ID number"),
        "bank_card": N_("Bank card number"),
    },
    "data_scope": {
        "own": N_("Own records"),
        "team": N_("Own team and sub-teams"),
        "all": N_("All records"),
    },
    "policy": {
        "hidden": N_("Hidden"),
        "masked": N_("Masked"),
        "read_only": N_("Read-only"),
        "read_write": N_("Read-write"),
    },
    "role_desc": {
        "tenant_admin": N_("Everything in the tenant"),
        "sales_manager": N_("Customers, tags, follow-ups and reports of the manager's team"),
        "sales_rep": N_("Own customers and follow-ups"),
        "customer_service": N_("All customers without spend figures; follow-ups"),
    },
    "backup.status": {
        "queued": N_("Waiting to start"),
        "running": N_("Backing up"),
        "cancelling": N_("Stopping"),
        "cancelled": N_("Cancelled"),
        "succeeded": N_("Ready to download"),
        "failed": N_("Failed"),
        "expired": N_("Expired"),
    },
    "import.status": {
        "queued": N_("Waiting to start"),
        "running": N_("Importing"),
        "succeeded": N_("Finished"),
        "failed": N_("Failed"),
    },
    "customer_import.status": {
        "uploading": N_("Uploading"),
        "validating": N_("Checking the file"),
        "validated": N_("Checked"),
        "importing": N_("Importing"),
        "cancelling": N_("Stopping after this batch"),
        "cancelled": N_("Stopped"),
        "succeeded": N_("Imported"),
        "failed": N_("Failed"),
        "undoing": N_("Undoing"),
        "undone": N_("Undone"),
    },
    "customer_import.mode": {
        "skip": N_("Skip them"),
        "update": N_("Update the existing customer"),
        "create": N_("Create anyway"),
    },
    # Customer fields a file column can be mapped to (crm_customers/importing/columns.py).
    "import.field": {
        "code": N_("Customer code"),
        "name": N_("Customer name"),
        "type": N_("Customer type"),
        "industry": N_("Industry"),
        "region": N_("Region"),
        "contact_person": N_("Contact person"),
        "mobile": N_("Mobile"),
        "phone": N_("Phone"),
        "email": N_("Email"),
        "first_contact_date": N_("First contact"),
        "source": N_("Source"),
        "status": N_("Status"),
        "owner": N_("Owner"),
        "employees": N_("Employees"),
        "annual_revenue": N_("Annual revenue"),
        "annual_revenue_currency": N_("Currency"),
        "needs": N_("Needs"),
        "notes": N_("Notes"),
        "credit_code": N_("Credit code"),
        "resident_id": N_("Resident ID"),
        "bank_card": N_("Bank card"),
    },
    "step_title": {
        "mfa": N_("Two-step verification"),
        "change_password": N_("Choose a new password"),
        "mfa_enroll": NC_("sign-in step", "Set up two-step verification"),
        "acknowledge_recovery_codes": N_("Save your recovery codes"),
    },
    "step_intro": {
        "mfa": N_("Enter the 6-digit code from your authenticator app to continue to %(client)s."),
        "change_password": N_("Your password was set by an administrator. Choose your own before you continue."),
        "mfa_enroll": N_("Your company requires administrators to use an authenticator app."),
        "acknowledge_recovery_codes": N_("Each code signs you in once if you lose your authenticator."),
    },
    "webhook.delivery": {
        "pending": N_("Waiting to send"),
        "succeeded": NC_("webhook delivery", "Delivered"),
        "failed": N_("Retrying"),
        "dead": N_("Dead letter"),
        "cancelled": NC_("webhook delivery", "Cancelled"),
    },
    "webhook.replay": {
        "queued": N_("Waiting to start"),
        "running": N_("Replaying"),
        "succeeded": N_("Finished"),
        "failed": N_("Failed"),
    },
    "webhook.trigger": {
        "event": N_("Event"),
        "replay": N_("Replay"),
    },
    "webhook.event": {
        "crm.customer.created": N_("Customer created"),
        "crm.customer.updated": N_("Customer changed"),
        "crm.customer.deleted": N_("Customer deleted"),
        "crm.customer.restored": N_("Customer restored"),
        "crm.customer.erased": N_("Customer permanently erased"),
        "crm.customer.merged": N_("Customers merged"),
        "crm.customer.unmerged": N_("Merge undone"),
        "crm.order.recorded": N_("Order recorded or changed"),
        "crm.tag.applied": N_("Tag applied"),
        "crm.tag.removed": N_("Tag removed"),
        "crm.followup_task.created": N_("Follow-up task created"),
        "crm.followup_task.completed": N_("Follow-up task completed"),
        "crm.user.created": N_("User created"),
        "crm.user.updated": N_("User changed"),
        "crm.webhook_endpoint.disabled": N_("Webhook endpoint disabled after failing"),
        "crm.webhook.test": N_("Test event"),
    },
    "invite_title": {
        "accepted": N_("Invitation already used"),
        "revoked": N_("Invitation revoked"),
        "expired": N_("Invitation expired"),
        "invalid": N_("Link not valid"),
    },
    "invite_message": {
        "accepted": N_("This invitation was already accepted. Sign in with the password you chose."),
        "revoked": N_("This invitation was revoked by an administrator. Ask them if you still need access."),
        "expired": N_("This link is older than 7 days. Ask your administrator to send a new one."),
        "invalid": N_("This invitation link is not valid; a newer email may have replaced it. Use the latest "
                      "invitation email or ask your administrator."),
    },
}


def label(group: str, code: str, locale: Locale, **params: object) -> str:
    msg = LABELS.get(group, {}).get(code)
    return messages(locale).text(msg, **params) if msg is not None else code


def export_words(locale: Locale) -> tuple[dict[str, str], dict[str, str]]:
    """(column key -> header, "status:won" -> label) for an export file in the requester's language."""
    text = messages(locale)
    columns = {key: text.text(msg) for key, msg in LABELS["customer_field"].items()}
    values = {f"{group}:{code}": text.text(msg) for group in ("status", "type") for code, msg in LABELS[group].items()}
    return columns, values

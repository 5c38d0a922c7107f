"""The web app's pages, under /app/. Each area's routes are listed here, in one place."""

from django.urls import path, register_converter

from .views import (
    account,
    audit,
    cases,
    consultations,
    drafts,
    figures,
    home,
    integrations,
    matches,
    members,
    notifications,
    organisation,
    oversight,
    referral_form,
    referrals,
)

app_name = "web"


class ReferralActionConverter:
    """The actions a referral page posts (``referrals.ACTIONS`` with a service), so /edit/ and /reroute/ stay free."""

    regex = "|".join(name for name, action in referrals.ACTIONS.items() if action.service is not None)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferralActionConverter, "referral_action")


class FiguresCsvConverter:
    """The figures page's CSV downloads: the counts (``referrals``), the times (``timings``), the matches, the consultations."""

    regex = "referrals|timings|matches|consultations"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FiguresCsvConverter, "figures_csv")


class MatchAnswerConverter:
    """The two answers a side gives a match (``matches.ANSWERS``: contacted, not_the_same_person)."""

    regex = "|".join(matches.ANSWERS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(MatchAnswerConverter, "match_answer")

urlpatterns = [
    path("", home.home, name="home"),
    # account: signing in and out, the second factor, the language; one-time links (public)
    path("sign-in/", account.sign_in, name="sign-in"),
    path("sign-out/", account.sign_out, name="sign-out"),
    path("language/", account.language, name="language"),
    path("account/", account.account, name="account"),
    path("account/second-factor/", account.second_factor, name="second-factor"),
    path("invitation/", account.invitation, name="invitation"),
    path("password-reset/", account.password_reset, name="password-reset"),
    # notifications (everyone signed in): the person's own list, opening and marking read, how mail comes
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notification_read_all, name="notifications-read"),
    path("notifications/preferences/", notifications.notification_preferences, name="notification-preferences"),
    path("notifications/<uuid:pk>/open/", notifications.notification_open, name="notification-open"),
    path("notifications/<uuid:pk>/read/", notifications.notification_read, name="notification-read"),
    # referral form
    path("cases/<uuid:pk>/referrals/new/", referral_form.referral_new, name="referral-new"),
    path("referrals/<uuid:pk>/edit/", referral_form.referral_edit, name="referral-edit"),
    path("referrals/<uuid:pk>/reroute/", referral_form.referral_reroute, name="referral-reroute"),
    # cases
    path("cases/", cases.case_list, name="cases"),
    path("cases/new/", cases.case_open, name="case-open"),
    path("cases/<uuid:pk>/", cases.case_page, name="case"),
    path("cases/<uuid:pk>/edit/", cases.case_edit, name="case-edit"),
    path("cases/<uuid:pk>/close/", cases.case_close, name="case-close"),
    path("cases/<uuid:pk>/reopen/", cases.case_reopen, name="case-reopen"),
    path("cases/<uuid:pk>/consents/new/", cases.consent_record, name="consent-record"),
    path("cases/<uuid:pk>/consents/<uuid:consent_id>/withdraw/", cases.consent_withdraw, name="consent-withdraw"),
    # drafts
    path("drafts/<str:key>/", drafts.draft_save, name="draft-save"),
    path("drafts/<str:key>/discard/", drafts.draft_discard, name="draft-discard"),
    # inbox and referral page
    path("referrals/<uuid:pk>/", referrals.referral, name="referral"),
    path("referrals/<uuid:pk>/messages/", referrals.referral_messages, name="referral-messages"),
    path("referrals/<uuid:pk>/<referral_action:action>/", referrals.referral_action, name="referral-action"),
    # matches (caseworkers: their side; coordinators: metadata); notifications link to /app/matches/<id>/
    path("matches/", matches.match_list, name="matches"),
    path("matches/<uuid:pk>/", matches.match_page, name="match"),
    path("matches/<uuid:pk>/<match_answer:action>/", matches.match_answer, name="match-answer"),
    # consultations ("can you take this?" before any identity is shared): caseworkers ask and answer, coordinators
    # read metadata; the inbox lists them
    path("consultations/", consultations.consultation_list, name="consultations"),
    path("consultations/new/", consultations.consultation_new, name="consultation-new"),
    path("consultations/<uuid:pk>/", consultations.consultation_page, name="consultation"),
    path("consultations/<uuid:pk>/answer/", consultations.consultation_answer_page, name="consultation-answer"),
    path("consultations/<uuid:pk>/withdraw/", consultations.consultation_withdraw_page, name="consultation-withdraw"),
    path(
        "consultations/<uuid:pk>/requests/<uuid:request_id>/refer/", consultations.consultation_refer_page,
        name="consultation-refer",
    ),
    # --- oversight (coordinators) ---
    path("oversight/", oversight.oversight_dashboard, name="oversight"),
    path("oversight/overdue/", oversight.overdue_list, name="oversight-overdue"),
    path("oversight/handovers/", oversight.handover_list, name="oversight-handovers"),
    path("oversight/bounced/", oversight.bounced_list, name="oversight-bounced"),
    path("oversight/unattended/", oversight.unattended_list, name="oversight-unattended"),
    path("oversight/exceptions/", oversight.exception_list, name="oversight-exceptions"),
    path("oversight/exceptions/<uuid:pk>/", oversight.exception_review, name="oversight-exception"),
    path("oversight/referrals/<uuid:pk>/", oversight.oversight_referral, name="oversight-referral"),

    # --- membership (coordinators) ---
    path("members/", members.member_list, name="members"),
    path("members/admit/", members.member_admit, name="member-admit"),
    path("members/<uuid:pk>/", members.member_page, name="member"),
    path("members/<uuid:pk>/suspend/", members.member_suspend, name="member-suspend"),
    path("members/<uuid:pk>/readmit/", members.member_readmit, name="member-readmit"),
    path("members/<uuid:pk>/invite-admin/", members.member_invite_admin, name="member-invite-admin"),

    # --- figures (everyone but the auditor) ---
    path("figures/", figures.figures_page, name="figures"),
    path("figures/<figures_csv:kind>.csv", figures.figures_csv, name="figures-csv"),

    # --- the organisation (org admins): people, invitations, approvals, profile, settings, capacity ---
    path("organisation/", organisation.profile, name="organisation"),
    path("organisation/settings/", organisation.organisation_settings, name="organisation-settings"),
    path("organisation/capacity/", organisation.capacity, name="organisation-capacity"),
    path("organisation/people/", organisation.people, name="people"),
    path("organisation/people/invite/", organisation.invite, name="people-invite"),
    path("organisation/people/<uuid:pk>/", organisation.person_page, name="person"),
    path("organisation/people/<uuid:pk>/deactivate/", organisation.person_deactivate, name="person-deactivate"),
    path("organisation/people/<uuid:pk>/reactivate/", organisation.person_reactivate, name="person-reactivate"),
    path(
        "organisation/people/<uuid:pk>/password-reset/", organisation.person_password_reset,
        name="person-password-reset",
    ),
    path("organisation/people/<uuid:pk>/second-factor-reset/", organisation.person_totp_reset, name="person-totp-reset"),
    path("organisation/invitations/<uuid:pk>/resend/", organisation.invitation_resend, name="invitation-resend"),
    path("organisation/invitations/<uuid:pk>/revoke/", organisation.invitation_revoke, name="invitation-revoke"),
    path("organisation/approvals/", organisation.approvals, name="approvals"),
    path("organisation/approvals/<uuid:pk>/", organisation.approval, name="approval"),

    # --- integrations (org admins): API keys, webhooks ---
    path("organisation/api-keys/", integrations.api_key_list, name="api-keys"),
    path("organisation/api-keys/new/", integrations.api_key_new, name="api-key-new"),
    path("organisation/api-keys/<uuid:pk>/revoke/", integrations.api_key_revoke, name="api-key-revoke"),
    path("organisation/webhooks/", integrations.webhook_list, name="webhooks"),
    path("organisation/webhooks/new/", integrations.webhook_new, name="webhook-new"),
    path("organisation/webhooks/<uuid:pk>/", integrations.webhook, name="webhook"),
    path("organisation/webhooks/<uuid:pk>/rotate/", integrations.webhook_rotate, name="webhook-rotate"),
    path("organisation/webhooks/<uuid:pk>/delete/", integrations.webhook_delete, name="webhook-delete"),
    path(
        "organisation/webhooks/<uuid:pk>/deliveries/<uuid:delivery_id>/redeliver/",
        integrations.webhook_redeliver, name="webhook-redeliver",
    ),

    # --- audit (the auditor) ---
    path("audit/", audit.trail, name="audit"),
    path("audit/verify/", audit.verify, name="audit-verify"),
    path("audit/cases/<uuid:pk>/", audit.case_retention, name="audit-case"),
    path("audit/cases/<uuid:pk>/hold/", audit.case_hold, name="audit-case-hold"),
    path("audit/cases/<uuid:pk>/release/", audit.case_release, name="audit-case-release"),
    path("audit/cases/<uuid:pk>/export/", audit.subject_export, name="audit-subject-export"),
    path("audit/cases/<uuid:pk>/erase/", audit.subject_erase, name="audit-subject-erase"),

]

from rest_framework.routers import SimpleRouter

from . import auditor_views, consultation_views, match_views, views

router = SimpleRouter(use_regex_path=False)
# The auditor's case API: under /audit/ beside the trail (coalition.audit), but about cases.
router.register("audit/cases", auditor_views.AuditCaseViewSet, basename="audit-case")
router.register("audit/subjects", auditor_views.SubjectRightsViewSet, basename="audit-subject")
router.register("cases", views.CaseViewSet, basename="case")
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("matches", match_views.MatchViewSet, basename="match")
router.register("consultations", consultation_views.ConsultationViewSet, basename="consultation")

urlpatterns = router.urls

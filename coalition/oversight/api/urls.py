from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("oversight/overdue", views.OverdueViewSet, basename="oversight-overdue")
router.register("oversight/handovers", views.HandoverViewSet, basename="oversight-handover")
router.register("oversight/bounced", views.BouncedViewSet, basename="oversight-bounced")
router.register("oversight/unattended", views.UnattendedViewSet, basename="oversight-unattended")
router.register("oversight/matches", views.MatchOversightViewSet, basename="oversight-match")
router.register("oversight/exceptions", views.ExceptionReviewViewSet, basename="exception")

urlpatterns = [
    *router.urls,
    path("statistics/referrals/", views.ReferralStatisticsView.as_view(), name="statistics-referrals"),
    path("statistics/timings/", views.TimingStatisticsView.as_view(), name="statistics-timings"),
    path("statistics/matches/", views.MatchStatisticsView.as_view(), name="statistics-matches"),
    path("statistics/consultations/", views.ConsultationStatisticsView.as_view(), name="statistics-consultations"),
]

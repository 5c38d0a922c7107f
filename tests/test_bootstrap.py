import pytest
from django.core.management import CommandError, call_command

from partners.choices import OrganisationKind
from partners.models import Organisation, User


def test_bootstrap_creates_the_coordination_and_its_first_coordinator(db, monkeypatch, capsys):
    monkeypatch.setenv("BOOTSTRAP_PASSWORD", "a-long-unusual-passphrase-81")
    call_command("bootstrap_coalition", name="Coalition coordination", username="first-coordinator", email="c@example.org")
    organisation = Organisation.objects.get(slug="coordination")
    user = User.objects.get(username="first-coordinator")
    assert organisation.kind == OrganisationKind.COORDINATOR
    assert user.organisation == organisation
    assert sorted(user.roles) == ["coordinator", "org_admin"]
    assert user.check_password("a-long-unusual-passphrase-81")
    assert user.requires_mfa
    assert "a-long-unusual-passphrase-81" not in capsys.readouterr().out


def test_bootstrap_refuses_a_weak_password_and_creates_no_user(db, monkeypatch):
    monkeypatch.setenv("BOOTSTRAP_PASSWORD", "password")
    with pytest.raises(CommandError):
        call_command("bootstrap_coalition", name="C", username="weak", email="w@example.org")
    assert not User.objects.filter(username="weak").exists()


def test_bootstrap_refuses_caseworker_role_in_the_coordination(db, monkeypatch):
    monkeypatch.setenv("BOOTSTRAP_PASSWORD", "a-long-unusual-passphrase-81")
    with pytest.raises(CommandError):
        call_command("bootstrap_coalition", name="C", username="x", email="x@example.org", roles="caseworker")

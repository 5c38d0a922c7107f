from referrals.models import Match, MatchKey


def test_two_members_holding_the_same_girl_get_one_match(known_twice, orgs):
    hotline_case, care_case = known_twice
    [match] = Match.objects.all()
    assert {str(match.case_a_id), str(match.case_b_id)} == {hotline_case["id"], care_case["id"]}
    assert match.key_kinds == ["name_and_birth_date"]  # the names swapped: the given-name key differs
    assert MatchKey.objects.count() == 4

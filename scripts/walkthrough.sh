#!/usr/bin/env bash
# A referral's whole life with curl, against `make run` (http://127.0.0.1:8000):
# hotline-be opens a case, records consent and transfers the lead to shelter-be;
# shelter-be accepts (and now sees the young person), then refers to care-nl for
# counselling, which accepts and completes; shelter-be closes the case.
# Needs only curl and python3 (to read JSON). All data is fictional.
set -euo pipefail
API=${API:-http://127.0.0.1:8000/api/v1}
PASSWORD=${DEMO_PASSWORD:-demo-password-2026}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
login() {
  curl -sf -X POST "$API/auth/token/" -H 'Content-Type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"$PASSWORD\"}" | json 'd["access"]'
}
org_id() { curl -sf "$API/organisations/?country=$2" -H "Authorization: Bearer $1" | json "[o['id'] for o in d['results'] if o['slug']=='$3'][0]"; }
post() { curl -sf -X POST "$API/$2" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "${3:-{\}}" "${@:4}"; }

HOTLINE=$(login hotline-be-caseworker); SHELTER=$(login shelter-be-caseworker); CARE=$(login care-nl-caseworker)
SHELTER_ID=$(org_id "$HOTLINE" BE shelter-be); CARE_ID=$(org_id "$HOTLINE" NL care-nl)

CASE=$(post "$HOTLINE" cases/ '{"subject": {"given_name": "Mira", "family_name": "Example", "date_of_birth": "2010-05-01",
  "gender": "female", "language": "nl", "safe_contact": "Only via the school counsellor"},
  "phenomena": ["teen_pimp"], "region": "BE-VLG"}' | json 'd["id"]')
echo "1. hotline-be opened case $CASE (hotline-be is lead)"
CONSENT=$(post "$HOTLINE" "cases/$CASE/consents/" '{"given_by": "young_person", "method": "written", "purposes": ["care_referral"]}' | json 'd["id"]')
echo "2. consent $CONSENT recorded"
REF=$(post "$HOTLINE" referrals/ "{\"case\": \"$CASE\", \"recipient\": \"$SHELTER_ID\", \"kind\": \"transfer\",
  \"phenomenon\": \"teen_pimp\", \"urgency\": \"urgent\", \"requested_service\": \"shelter\",
  \"reason\": \"Needs a safe place tonight.\", \"age\": 16, \"gender\": \"female\", \"region\": \"BE-VLG\",
  \"language\": \"nl\", \"consent\": \"$CONSENT\"}" -H "Idempotency-Key: transfer-$CASE" | json 'd["id"]')
echo "3. transfer referral $REF drafted"
post "$HOTLINE" "referrals/$REF/send/" | json '"4. sent; acknowledge by", d["acknowledge_due"], "decide by", d["decide_due"]'
echo "5. shelter-be reads the case before accepting: HTTP $(curl -s -o /dev/null -w '%{http_code}' "$API/cases/$CASE/" -H "Authorization: Bearer $SHELTER") (triage only)"
post "$SHELTER" "referrals/$REF/acknowledge/" | json '"6.", d["status"]'
ETAG=$(curl -sf -D - -o /dev/null "$API/referrals/$REF/" -H "Authorization: Bearer $SHELTER" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
post "$SHELTER" "referrals/$REF/accept/" '{}' -H "If-Match: $ETAG" | json '"7.", d["status"], "(If-Match", d["version"] - 1, ")"'
curl -sf "$API/cases/$CASE/" -H "Authorization: Bearer $SHELTER" | json '"8. shelter-be now leads and sees", d["subject"]["given_name"]'
curl -sf "$API/cases/$CASE/" -H "Authorization: Bearer $HOTLINE" | json '"9. hotline-be keeps metadata only: subject =", d["subject"]'
CONSENT2=$(post "$SHELTER" "cases/$CASE/consents/" "{\"given_by\": \"young_person\", \"method\": \"written\",
  \"purposes\": [\"care_referral\"], \"recipients\": [\"$CARE_ID\"]}" | json 'd["id"]')
REF2=$(post "$SHELTER" referrals/ "{\"case\": \"$CASE\", \"recipient\": \"$CARE_ID\", \"kind\": \"service\",
  \"phenomenon\": \"teen_pimp\", \"urgency\": \"normal\", \"requested_service\": \"counselling\", \"age\": 16,
  \"consent\": \"$CONSENT2\"}" | json 'd["id"]')
post "$SHELTER" "referrals/$REF2/send/" | json '"10. service referral to care-nl", d["status"]'
post "$CARE" "referrals/$REF2/messages/" '{"body": "We can see her on Thursday."}' | json '"11. care-nl wrote:", d["body"]'
post "$CARE" "referrals/$REF2/accept/" | json '"12. care-nl", d["status"]'
post "$CARE" "referrals/$REF2/complete/" '{"outcome_code": "service_delivered"}' | json '"13. care-nl", d["status"], "the referral"'
curl -sf "$API/cases/$CASE/timeline/" -H "Authorization: Bearer $SHELTER" | json '"14. custody:", [c["organisation"] for c in d["custody"]]'
post "$SHELTER" "cases/$CASE/close/" '{"outcome": "safe_and_supported"}' | json '"15. case", d["status"], "with outcome", d["outcome"]'

"""``referral_declined_by_sender``: an organisation's declined referrals, newest first.

The inbox lists the declined referrals an organisation may still re-route; without this
index PostgreSQL reads every referral the organisation ever had declined to sort them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0005_message_created_by'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(condition=models.Q(('status', 'declined')), fields=['sender', '-declined_at'], name='referral_declined_by_sender'),
        ),
    ]

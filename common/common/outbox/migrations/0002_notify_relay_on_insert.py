"""Each transaction that adds outbox rows wakes the relay process when it commits.

Postgres delivers a NOTIFY only at commit (never for a rollback) and sends one per channel per
transaction however many rows were added, so the writer pays no round trip and the relay wakes
once per burst. The channel is ``common.outbox.services.RELAY_CHANNEL``.
"""

from django.db import migrations

NOTIFY_RELAY = """
CREATE FUNCTION outbox_notify_relay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_pending', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify_relay AFTER INSERT ON outbox_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify_relay();
"""

DROP_NOTIFY_RELAY = """
DROP TRIGGER outbox_notify_relay ON outbox_outboxevent;
DROP FUNCTION outbox_notify_relay();
"""


class Migration(migrations.Migration):
    dependencies = [("outbox", "0001_initial")]

    operations = [migrations.RunSQL(NOTIFY_RELAY, DROP_NOTIFY_RELAY)]

"""`redcolor serve`: the alert server (streams, REST, feeds, channels)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""

    @app.command()
    def serve(
        db: Path = typer.Option(
            Path("alerts.db"),
            "--db",
            help="The server's SQLite file: the alert event store (unless --store), operators,"
            " tokens, push subscriptions.",
        ),
        store: str | None = typer.Option(
            None,
            "--store",
            help="Keep the alert events (and the audit records) in PostgreSQL instead:"
            " postgresql://user@host:port/database.",
        ),
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8080, min=1, max=65535, help="TCP port."),
        simulate: str | None = typer.Option(
            None,
            help="Run this scenario (built-in name or TOML file) through the pipeline in "
            "(scaled) real time.",
        ),
        speed: float = typer.Option(1.0, min=0.01, max=1000.0, help="Simulation speed factor."),
        sensors: Path | None = typer.Option(
            None,
            "--sensors",
            help="Live core: the sensor registry (TOML, one [[sensor]] each; see "
            "`redcolor sim sensors`). Needs --asterix.",
        ),
        asterix: str | None = typer.Option(
            None,
            "--asterix",
            help="Live core: receive ASTERIX CAT034/CAT048 here, udp://HOST:PORT or a multicast "
            "group udp://GROUP:PORT?iface=ADDR.",
        ),
        ground_alt_m: float = typer.Option(
            0.0,
            "--ground-alt-m",
            min=-500.0,
            max=9000.0,
            help="Live core: the terrain altitude (m) tracks are predicted to land at.",
        ),
        hold_s: float | None = typer.Option(
            None,
            "--hold-s",
            min=0.0,
            max=86_400.0,
            help="Seconds after a threat is over before its areas get the all-clear "
            "(with --simulate on the scenario's clock; default the standard hold).",
        ),
        edition: str = typer.Option("current", help="Alert-area edition."),
        mqtt: str | None = typer.Option(None, help="Publish to this MQTT broker (mqtt://h:p)."),
        mqtt_prefix: str = typer.Option(
            "redcolor", "--mqtt-prefix", help="MQTT topic prefix (levels joined by /, no + or #)."
        ),
        mqtt_ha_areas: str = typer.Option(
            "",
            "--mqtt-ha-areas",
            help="Announce these areas to Home Assistant (MQTT discovery), e.g. 175,176: one"
            " safety binary sensor each.",
        ),
        public_url: str | None = typer.Option(
            None, help="Base URL of links in the Atom feed (default http://HOST:PORT)."
        ),
        cap_sender: str = typer.Option(
            "redcolor@localhost",
            "--cap-sender",
            help="The CAP sender of every message (e.g. alerts@example.org; no spaces or commas).",
        ),
        time_zone: str = typer.Option(
            "Asia/Jerusalem",
            "--time-zone",
            help="IANA time zone of the times in CAP messages (the areas' local offset).",
        ),
        cap_signing_key: Path | None = typer.Option(
            None,
            "--cap-signing-key",
            help="Sign every CAP message (XML-DSig) with this PEM private key (RSA or EC).",
        ),
        cap_signing_cert: Path | None = typer.Option(
            None,
            "--cap-signing-cert",
            help="The PEM certificate of --cap-signing-key, published at /cap/certificate.pem.",
        ),
        nats_publish: str | None = typer.Option(
            None, help="Publish the log to NATS JetStream (nats://h:p) for edge servers."
        ),
        nats_follow: str | None = typer.Option(
            None, help="Edge mode: copy the log from NATS JetStream into --db and serve it."
        ),
        nats_replicas: int = typer.Option(
            1,
            "--nats-replicas",
            help="With --nats-publish: copies of the stream a NATS cluster keeps (3 on three"
            " nodes: it carries on with one node down). URLs of several nodes go comma-separated.",
        ),
        nats_user: str | None = typer.Option(None, help="NATS user name."),
        nats_password_file: Path | None = typer.Option(
            None, help="File holding the NATS password (or set REDCOLOR_NATS_PASSWORD)."
        ),
        nats_nkey_seed: Path | None = typer.Option(
            None, help="Log in to NATS with the user nkey seed in this file (instead of a user)."
        ),
        totp_key: Path | None = typer.Option(
            None,
            "--totp-key",
            envvar="REDCOLOR_TOTP_KEY",
            help="The key file operators' TOTP secrets are sealed under (default: DB.totp-key,"
            " beside --db): keep it off the volume the database's backups copy.",
        ),
        signing_key: Path | None = typer.Option(
            None, help="With --nats-publish: Ed25519 key the core signs events with (made 0600)."
        ),
        verify_key: Path | None = typer.Option(
            None, help="With --nats-follow: the core's public key; unsigned events are refused."
        ),
        push_dir: Path | None = typer.Option(
            None, help="Turn on Web Push; VAPID keys and subscriptions are kept here."
        ),
        push_allow: list[str] = typer.Option(
            [],
            "--push-allow",
            help="CIDR a push endpoint may resolve to though not public (repeatable; "
            "e.g. a local test push service).",
        ),
        push_ca_file: Path | None = typer.Option(
            None, help="PEM CA bundle trusted for push endpoints, beside the public CAs."
        ),
        push_max_subscriptions: int = typer.Option(
            100_000, min=1, help="Most Web Push subscriptions held (beyond: 507)."
        ),
        lapse_s: float = typer.Option(
            300.0, "--lapse-s", help="Operators: a proposal nobody decided lapses after this."
        ),
        solo_categories: str | None = typer.Option(
            None,
            "--solo-categories",
            help="Operators: categories a supervisor may issue alone (then another confirms),"
            " e.g. earthquake,tsunami.",
        ),
        approval_for: str | None = typer.Option(
            None,
            "--approval-for",
            help="Operators: what needs a second person (default issue,update,end,cancel;"
            " issue always does).",
        ),
        tls_cert: Path | None = typer.Option(
            None, "--tls-cert", help="Serve HTTPS with this PEM certificate chain (with --tls-key)."
        ),
        tls_key: Path | None = typer.Option(
            None, "--tls-key", help="The PEM private key of --tls-cert."
        ),
        exercise_to: str = typer.Option(
            "",
            "--exercise-to",
            help="Real public channels that carry exercises too, comma-separated from sirens,"
            " push, mqtt (default none: an exercise reaches the streams, feeds and CAP only,"
            " marked as one).",
        ),
        ha_lease: str | None = typer.Option(
            None,
            "--ha-lease",
            help="Active/standby live cores on one store: campaign for the leader lease in this"
            " NATS JetStream (nats://h:p); only the leader writes and publishes.",
        ),
        node_id: str | None = typer.Option(
            None, "--node-id", help="With --ha-lease: this core's name, unique in its group."
        ),
        ha_bucket: str | None = typer.Option(
            None, "--ha-bucket", help="With --ha-lease: the lease's KV bucket (one per group)."
        ),
        clock_offset_s: float = typer.Option(
            0.0, "--clock-offset-s", hidden=True, help="Skew the live core's clock (tests)."
        ),
    ) -> None:
        """Serve alerts: WebSocket/SSE streams, REST, oref-style and CAP feeds, channels."""
        from redcolor.channels.mqtt import parse_ha_areas
        from redcolor.operators.desk import parse_policy
        from redcolor.serve.run import serve as run_server
        from redcolor.serve.state import ServeConfig, exercise_channels_from

        config = ServeConfig(
            db=db,
            store_url=store,
            host=host,
            port=port,
            edition=edition,
            mqtt_url=mqtt,
            mqtt_prefix=mqtt_prefix,
            mqtt_ha_areas=parse_ha_areas(mqtt_ha_areas),
            public_url=public_url,
            cap_sender=cap_sender,
            time_zone=time_zone,
            cap_signing_key=cap_signing_key,
            cap_signing_cert=cap_signing_cert,
            push_dir=push_dir,
            push_allow=tuple(push_allow),
            push_ca_file=push_ca_file,
            push_max_subscriptions=push_max_subscriptions,
            nats_publish_url=nats_publish,
            nats_follow_url=nats_follow,
            nats_replicas=nats_replicas,
            nats_user=nats_user,
            nats_password_file=nats_password_file,
            nats_nkey_seed=nats_nkey_seed,
            signing_key=signing_key,
            totp_key=totp_key,
            verify_key=verify_key,
            sensors=sensors,
            asterix_url=asterix,
            ground_alt_m=ground_alt_m,
            desk=parse_policy(lapse_s, solo_categories, approval_for),
            tls_cert=tls_cert,
            tls_key=tls_key,
            exercise_channels=exercise_channels_from(exercise_to),
            ha_lease_url=ha_lease,
            node_id=node_id,
            clock_offset_s=clock_offset_s,
            **({} if hold_s is None else {"hold_s": hold_s}),
            **({} if ha_bucket is None else {"ha_bucket": ha_bucket}),
        )
        run_server(config, simulate=simulate, speed=speed, on_listening=print_url)


def print_url(url: str) -> None:
    """Say where the server listens (flushed: whoever started it waits for this line)."""
    # flushed at once: whoever started the server (a person, a script, a test) waits for it
    typer.echo(f"redcolor: serving on {url} (Ctrl-C stops)")
    sys.stdout.flush()

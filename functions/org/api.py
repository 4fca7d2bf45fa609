"""The `org` HTTPS function: /org/settings, /org/routing, /org/channels and /org/teams."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core import secrets
from core.deploy import https_options
from core.http import Call, Page, Reply, Router, created
from org import service
from org.models import (
    ChannelsConfig,
    ChannelsUpdate,
    ChannelTest,
    ChannelTestResult,
    OrgSettings,
    OrgSettingsUpdate,
    Team,
    TeamCreate,
    TeamUpdate,
)
from routing.models import RoutingConfig, RoutingUpdate

router = Router("org")
# The channel and routing services (org.channels with the comms providers, routing.config) are imported by
# their routes only: a start whose first request reads the settings or the teams needs neither (bench.coldstart).


@router.get("/settings", response=OrgSettings)
def get_settings(call: Call) -> dict[str, Any]:
    """The organization's settings (every member reads them: stages, sources, ...)."""
    return service.get_settings(caller=call.caller)


@router.patch("/settings", fresh=True, body=OrgSettingsUpdate, response=OrgSettings)
def update_settings(call: Call) -> dict[str, Any]:
    """Change settings (admin)."""
    call.caller.require("settings.manage")
    data = call.body(OrgSettingsUpdate)
    return service.update_settings(caller=call.caller, data=data, if_match=call.if_match())


@router.get("/routing", response=RoutingConfig)
def get_routing(call: Call) -> dict[str, Any]:
    """The routing rules, first-contact SLA and working hours (admin)."""
    from routing import config as routing

    return routing.get_config(caller=call.caller)


@router.patch("/routing", fresh=True, body=RoutingUpdate, response=RoutingConfig)
def update_routing(call: Call) -> dict[str, Any]:
    """Change the routing configuration (admin); `rules` replaces the list."""
    from routing import config as routing

    call.caller.require("settings.manage")
    data = call.body(RoutingUpdate)
    return routing.update_config(caller=call.caller, data=data, if_match=call.if_match())


@router.get("/channels", fresh=True, response=ChannelsConfig)
def get_channels(call: Call) -> dict[str, Any]:
    """The organization's own WhatsApp number, SMS entity and headers, email sender and voice numbers (admin);
    credentials show only whether they are set and their last 4 characters."""
    from org import channels

    return channels.get_channels(caller=call.caller)


@router.patch("/channels", fresh=True, body=ChannelsUpdate, response=ChannelsConfig)
def update_channels(call: Call) -> dict[str, Any]:
    """Change the channels (admin): a section given merges, null removes it; the token is write-only."""
    from org import channels

    data = call.body(ChannelsUpdate)
    return channels.update_channels(caller=call.caller, data=data, if_match=call.if_match())


@router.post("/channels/test", fresh=True, body=ChannelTest, response=ChannelTestResult)
def test_channel(call: Call) -> dict[str, Any]:
    """Send a test message on one channel (admin); answers with what the provider said."""
    from org import channels

    return channels.test_channel(caller=call.caller, data=call.body(ChannelTest))


@router.get("/teams", items=Team)
def list_teams(call: Call) -> Page:
    """The organization's teams."""
    return Page(service.list_teams(caller=call.caller))


@router.post("/teams", fresh=True, idempotent=True, body=TeamCreate, response=Team, status=201)
def create_team(call: Call) -> Reply:
    """Create a team (admin)."""
    call.caller.require("teams.manage")
    team = service.create_team(caller=call.caller, data=call.body(TeamCreate))
    return created(team)


@router.patch("/teams/{team_id}", fresh=True, body=TeamUpdate, response=Team)
def update_team(call: Call) -> dict[str, Any]:
    """Change a team (admin)."""
    call.caller.require("teams.manage")
    data = call.body(TeamUpdate)
    team = service.update_team(caller=call.caller, team_id=call.params["team_id"], data=data, if_match=call.if_match())
    return team


# The channels' credentials are sealed under CHANNELS_KEY; a test SMS goes through Plivo (its auth token is
# SMS_WEBHOOK_SECRET) and a test email through SMTP.
SECRETS = secrets.names(secrets.CHANNELS_KEY, secrets.SMS_WEBHOOK_SECRET, secrets.MAIL)


@https_fn.on_request(**https_options(secrets=SECRETS))
def org(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `org`."""
    return router(req)

"""The account-settings document as Zendesk returns it: every section, not only those casesync reads.

``GET /api/v2/account/settings`` answers ``{"settings": {section: {key: value}}}`` with the sections of the
OAS's ``AccountSettingsResponseExample`` (active_features, agents, api, apps, billing, branding, brands, chat,
email, google_apps, groups, limits, localization, lotus, metrics, routing, rule, screencast, statistics,
ticket_form, ticket_sharing_partners, tickets, twitter, user, voice).  The values here are a plain sandbox
account's; the state's own settings (CCs and followers, …) override them key by key.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["ACCOUNT_DEFAULTS", "account_settings"]

ACCOUNT_DEFAULTS: dict[str, dict[str, Any]] = {
    "active_features": {"allow_ccs": True, "business_hours": False, "chat": False, "customer_satisfaction": False,
                        "markdown": False, "on_hold_status": True, "sandbox": True, "ticket_forms": True,
                        "ticket_tagging": True, "user_tagging": True, "voice": False},
    "agents": {"agent_workspace": True, "focus_mode": False, "idle_timeout_enabled": False},
    "api": {"accepted_api_agreement": True, "api_password_access": "false", "api_token_access": "true"},
    "apps": {"create_private": True, "create_public": False, "use": True},
    "billing": {"backend": "sandbox"},
    "branding": {"favicon_url": None, "header_color": "03363D", "header_logo_url": None,
                 "page_background_color": "FFFFFF", "tab_background_color": "03363D", "text_color": "FFFFFF"},
    "brands": {"default_brand_id": 1, "require_brand_on_new_tickets": False},
    "chat": {"available": False, "enabled": False, "integrated": False, "maximum_request_count": 1,
             "welcome_message": ""},
    "email": {"accept_wildcard_emails": False, "email_status": True, "modern_email_template": True,
              "personalized_replies": False},
    "google_apps": {"has_google_apps": False, "has_google_apps_admin": False},
    "groups": {"check_group_name_uniqueness": True},
    "limits": {"attachment_size": 52_428_800},
    "localization": {"locale_ids": [1]},
    "lotus": {"pod_id": 0, "prefer_lotus": True, "reporting": True},
    "metrics": {"account_size": "1-9"},
    "routing": {"autorouting_tag": "", "enabled": False, "max_email_capacity": 0, "max_messaging_capacity": 0},
    "rule": {"macro_most_used": True, "macro_order": "alphabetical", "skill_based_filtered_views": [],
             "using_skill_based_routing": False},
    "screencast": {"enabled_for_tickets": False, "host": None, "tickets_recorder_id": None},
    "statistics": {"forum": True, "rule_usage": True, "search": True},
    "ticket_form": {"raw_ticket_forms_instructions": "", "ticket_forms_instructions": ""},
    "ticket_sharing_partners": {"support_addresses": []},
    "tickets": {"accepted_new_collaboration_tos": True, "agent_collision": True, "agent_ticket_deletion": True,
                "allow_group_reset": True, "assign_default_organization": True, "assign_tickets_upon_solve": True,
                "auto_translation_enabled": False, "auto_updated_ccs_followers_rules": False,
                "chat_sla_enablement": False, "collaboration": True, "comments_public_by_default": True,
                "email_attachments": True, "email_comments_public_by_default": True,
                "follower_and_email_cc_collaborations": True, "has_color_text": True,
                "is_first_comment_private_enabled": False, "light_agent_email_ccs_allowed": False,
                "list_empty_views": True, "list_newest_comments_first": True, "markdown_ticket_comments": False,
                "maximum_personal_views_to_list": 8, "private_attachments": False,
                "rich_text_comments": True, "status_hold": True, "tagging": True,
                "using_skill_based_routing": False},
    "twitter": {"shorten_url": "optional"},
    "user": {"agent_created_welcome_emails": True, "end_user_phone_number_validation": False,
             "have_gravatars_enabled": True, "language_selection": True, "multiple_organizations": True,
             "tagging": True, "time_zone_selection": True},
    "voice": {"enabled": False, "logging": True, "maintenance": False, "outbound_enabled": False,
              "recordings_public": False},
}


def account_settings(own: dict[str, Any]) -> dict[str, Any]:
    """The full document: :data:`ACCOUNT_DEFAULTS` with the account's own settings laid over, key by key."""
    out = copy.deepcopy(ACCOUNT_DEFAULTS)
    for section, values in own.items():
        if isinstance(values, dict):
            out.setdefault(section, {}).update(copy.deepcopy(values))
        else:
            out[section] = copy.deepcopy(values)
    return out

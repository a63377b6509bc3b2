"""Every page a person sees, for the accessibility check (tests/browser/test_accessibility.py), and
every named address that is not a page, each with the reason.

tests/test_page_coverage.py fails when a named URL is in neither table, so a page added later is
checked without anyone remembering. The admin's model pages come from the admin site's registry
(each model's list, add and change page); only the admin's own extra addresses are listed here.
"""

ANONYMOUS = "anonymous"
# Signed in with the password, asked for the code of an authenticator app.
VERIFYING = "verifying"
CLIENT = "client"
THERAPIST = "therapist"
ADMINISTRATOR = "administrator"
ROLES = (ANONYMOUS, VERIFYING, CLIENT, THERAPIST, ADMINISTRATOR)


def _pk(key):
    return lambda demo: {"pk": demo[key].pk}


# URL name -> (who opens it, its arguments from the demo's objects)
PAGES = {
    "login": (ANONYMOUS, None),
    "password_reset": (ANONYMOUS, None),
    "password_reset_done": (ANONYMOUS, None),
    "password_reset_confirm": (ANONYMOUS, lambda demo: demo["reset"]),
    "password_reset_complete": (ANONYMOUS, None),
    "two_factor_verify": (VERIFYING, None),
    "password_change": (CLIENT, None),
    "password_change_done": (CLIENT, None),
    "two_factor": (CLIENT, None),
    "two_factor_setup": (CLIENT, None),
    "scheduling:week": (CLIENT, None),
    "portal:check_in": (CLIENT, None),
    "portal:phq9": (CLIENT, None),
    "portal:gad7": (CLIENT, None),
    "portal:questionnaire_done": (CLIENT, _pk("questionnaire")),
    "portal:history": (CLIENT, None),
    "portal:progress": (CLIENT, None),
    "therapist:dashboard": (THERAPIST, None),
    "therapist:overdue_notes": (THERAPIST, None),
    "therapist:session": (THERAPIST, _pk("session")),
    "therapist:note": (THERAPIST, _pk("session")),
    "therapist:group": (THERAPIST, _pk("group")),
    "therapist:alert": (THERAPIST, _pk("alert")),
    "therapist:plan": (THERAPIST, _pk("client")),
    "therapist:progress": (THERAPIST, _pk("client")),
    "therapist:discharge": (THERAPIST, _pk("discharged")),
    "therapist:goal": (THERAPIST, _pk("goal")),
    "therapist:sign_in_sheet": (THERAPIST, _pk("session")),
    "scheduling:rotate_feed": (CLIENT, None),
    "scheduling:language": (CLIENT, None),
    "scheduling:preparation": (CLIENT, None),
    "reports:index": (ADMINISTRATOR, None),
    "reports:report": (ADMINISTRATOR, lambda demo: {"slug": "attendance"}),
}

# The same pages in their other states, where another form or another part of the page shows.
STATES = [
    ("therapist:note", THERAPIST, _pk("unsigned_session")),  # the note's form, before signing
    ("therapist:note", THERAPIST, _pk("signed_session")),  # signed: the note, its addenda and their form
    ("therapist:plan", THERAPIST, _pk("client_without_plan")),  # the form that starts a plan
    ("therapist:discharge", THERAPIST, _pk("signed_discharge")),  # the signed summary
    # The clinic's other reports: each its own chart and tables.
    *(
        ("reports:report", ADMINISTRATOR, lambda demo, slug=slug: {"slug": slug})
        for slug in ("hours", "census", "length-of-stay", "waitlist")
    ),
]

POST_ONLY = "answers a form's POST and redirects; its form is on a page checked above"
NOT_PAGES = {
    "home": "redirects each person to their own start page",
    "healthz": "a JSON answer for the load balancer",
    "logout": "POST only (the Sign out button); it redirects to the sign-in page",
    "keep_alive": "the idle warning's background POST; answers 204",
    "two_factor_recovery_codes": "POST only; shows the new codes once, in the set-up page's template",
    "two_factor_turn_off": POST_ONLY,
    "scheduling:feed": "the calendar feed, an .ics download for the phone's calendar",
    "therapist:session_held": POST_ONLY,
    "therapist:note_sign": POST_ONLY,
    "therapist:note_addendum": POST_ONLY,
    "therapist:discharge_sign": POST_ONLY,
    "therapist:plan_start": POST_ONLY,
    "therapist:plan_goal_add": POST_ONLY,
    "therapist:plan_review": POST_ONLY,
    "therapist:goal_status": POST_ONLY,
    "therapist:session_topic": POST_ONLY,
    "therapist:plan_group_kinds": POST_ONLY,
}

# The admin's own addresses beside each model's list, add, change, history and delete pages.
ADMIN_PAGES = {
    "admin:index": None,
    "admin:app_list": lambda demo: {"app_label": "scheduling"},
    "admin:scheduling_session_generate": None,
    "admin:progress_safetyalert_follow_up": _pk("alert"),
    "admin:progress_find_group": _pk("client"),
    # Each part of the dashboard has a page of its own for what does not fit on the dashboard.
    "admin:dashboard_section": lambda demo: {"name": "undocumented"},
    # Django's history and delete pages are one template for every model: one of each.
    "admin:clients_client_history": lambda demo: {"object_id": demo["client"].pk},
    "admin:scheduling_closure_delete": lambda demo: {"object_id": demo["closure"].pk},
    "admin:auth_user_password_change": lambda demo: {"id": demo["client_user"].pk},
    "admin:otp_totp_totpdevice_config": lambda demo: {"pk": demo["authenticator"].pk},
}
ADMIN_NOT_PAGES = {
    "admin:login": "redirects to the clinic's one sign-in page (/accounts/login/)",
    "admin:logout": "POST only (the Sign out button)",
    "admin:password_change": "Django's page, the same form as /accounts/password_change/ checked above",
    "admin:password_change_done": "Django's page after the password change, like /accounts/password_change/done/",
    "admin:autocomplete": "JSON for search-as-you-type",
    "admin:jsi18n": "the admin's JavaScript catalogue",
    "admin:view_on_site": "redirects to the object's page on the site",
    "admin:otp_totp_totpdevice_qrcode": "the QR code's image, shown on the device's set-up page checked above",
}
# Each registered model's pages, made by the admin site for every model alike.
ADMIN_MODEL_PAGES = ("changelist", "add", "change", "history", "delete")

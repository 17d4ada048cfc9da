"""Makes sure the Zope root has the admin user and the Plone site, without a prompt.

Run as `zconsole run zope.conf create_site.py SITE_ID ADMIN_USER`, beside the running clients
(it is one more ZEO client). The title and the admin password come from the environment
(PLONE_SITE_TITLE, PLONE_ADMIN_PASSWORD), never from the command line. Prints one line per
change, so the task's `changed` is honest, and nothing when all was there.
"""
import os
import sys

import transaction
from AccessControl.SecurityManagement import newSecurityManager
from Testing.makerequest import makerequest
from zope.globalrequest import setRequest

# zconsole passes `run` as sys.argv[1]: the script's own arguments are the last ones.
site_id, admin = sys.argv[-2], sys.argv[-1]
password = os.environ["PLONE_ADMIN_PASSWORD"]
title = os.environ["PLONE_SITE_TITLE"]

app = makerequest(app)  # noqa: F821 (zconsole provides `app`)
setRequest(app.REQUEST)
users = app.acl_users
if users.getUser(admin) is None:
    users.userFolderAddUser(admin, password, ["Manager"], [])
    print(f"admin user {admin} added")
elif users.authenticate(admin, password, app.REQUEST) is None:
    users.userFolderEditUser(admin, password, ["Manager"], [])
    print(f"admin user {admin}: password set")
# Committed now: creating the site begins transactions of its own, which would drop it.
transaction.commit()
newSecurityManager(None, users.getUser(admin).__of__(users))

if site_id not in app.objectIds():
    from plone.distribution.api import site as site_api

    site_api.create(
        app,
        "classic",
        {
            "site_id": site_id,
            "title": title,
            "default_language": "en",
            "portal_timezone": "UTC",
            "setup_content": True,
        },
    )
    print(f"site {site_id} created")
transaction.commit()

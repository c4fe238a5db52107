"""API permissions from Django's model permissions, with reads requiring `view_<model>`.

DRF's `DjangoModelPermissions` lets any authenticated user read; here an integration or a person needs
the model's view permission to read and add/change/delete to write. The "analyst" group holds only view
permissions (read-only); "campaign manager" holds all four.
"""

from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

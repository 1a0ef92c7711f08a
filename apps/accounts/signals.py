from allauth.account.signals import email_confirmed, user_signed_up
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from apps.audit.services import record_event


@receiver(user_signed_up)
def audit_signup(sender, request, user, **kwargs):
    record_event(
        service="accounts",
        method="signup",
        text=f"{user.email} signed up",
        resource_id=f"user/{user.pk}",
        user=user,
        request=request,
        auth_system="allauth",
    )


@receiver(email_confirmed)
def audit_email_confirmed(sender, request, email_address, **kwargs):
    record_event(
        service="accounts",
        method="confirm_email",
        text=f"{email_address.email} verified",
        resource_id=f"user/{email_address.user_id}",
        user=email_address.user,
        request=request,
    )


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    record_event(
        service="accounts",
        method="login",
        text=f"{user.email} logged in",
        resource_id=f"user/{user.pk}",
        user=user,
        request=request,
        auth_system="session",
    )


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    who = credentials.get("email") or credentials.get("username") or "?"
    record_event(
        service="accounts",
        method="login",
        text=f"failed login for {who}",
        category="warn",
        status=401,
        request=request,
        auth_system="session",
    )

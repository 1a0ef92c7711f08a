from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Failed-login limits per (client address, account) pair.

    allauth counts failed logins per account alone, so anyone anywhere could lock a colleague out for
    five minutes with five wrong passwords. Keyed by address and account, a guesser only locks
    themselves out; allauth's per-address limit (10 a minute) still bounds guessing across accounts.
    Overrides allauth's private key method (65.x, pinned): the public hook does not exist."""

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        return (
            f"{self.get_client_ip(request)}|{super()._get_login_attempts_cache_key(request, **credentials)}"
        )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """An ORCID login fills the profile's ORCID iD and name."""

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if sociallogin.account.provider == "orcid":
            user.orcid = sociallogin.account.uid
            full = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
            if full and not user.name:
                user.name = full
        return user

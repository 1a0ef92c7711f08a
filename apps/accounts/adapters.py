from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


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

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Award, Cruise, CruiseFile, CruiseMember, Organisation, OrganisationMember, Port, Vessel


class OrganisationMemberInline(admin.TabularInline):
    model = OrganisationMember
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "email")
    search_fields = ("name", "short_name")
    inlines = [OrganisationMemberInline]


@admin.register(Port)
class PortAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "unlocode")
    search_fields = ("name", "unlocode")


@admin.register(Vessel)
class VesselAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "call_sign", "imo_number", "operator")
    search_fields = ("name", "code", "call_sign")


class CruiseMemberInline(admin.TabularInline):
    model = CruiseMember
    extra = 0
    raw_id_fields = ("user",)


class AwardInline(admin.TabularInline):
    model = Award
    extra = 0


@admin.register(Cruise)
class CruiseAdmin(ReadOnlyAdmin):
    list_display = ("cruise_id", "vessel", "operator", "departure_date", "arrival_date", "state")
    list_filter = ("state", "vessel")
    search_fields = ("cruise_id", "mission_summary")
    inlines = [CruiseMemberInline, AwardInline]


@admin.register(CruiseFile)
class CruiseFileAdmin(ReadOnlyAdmin):
    list_display = ("cruise", "kind", "filename", "size", "sha256", "created_at")
    list_filter = ("kind",)

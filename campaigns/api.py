"""REST API for campaigns."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from .models import Campaign


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "goal", "brief", "channel", "status", "brand_voice", "created_by", "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]


class CampaignFilter(filters.FilterSet):
    class Meta:
        model = Campaign
        fields = ["status", "channel", "goal"]


@extend_schema_view(
    list=extend_schema(summary="List campaigns"),
    retrieve=extend_schema(summary="Get a campaign"),
    create=extend_schema(summary="Create a campaign", description="The creator is the authenticated user."),
    update=extend_schema(summary="Replace a campaign"),
    partial_update=extend_schema(summary="Update a campaign"),
    destroy=extend_schema(summary="Delete a campaign"),
)
class CampaignViewSet(viewsets.ModelViewSet[Campaign]):
    """Marketing campaigns: goal, channel, brief, brand voice and status."""

    queryset = Campaign.objects.select_related("created_by")
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    search_fields = ["name", "brief"]
    ordering_fields = ["created_at", "name", "status"]

    def perform_create(self, serializer: CampaignSerializer) -> None:  # type: ignore[override]
        serializer.save(created_by=self.request.user)

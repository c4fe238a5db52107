"""REST API for background jobs: start, follow progress, cancel, retry."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.viewsets import check_json_object

from . import runner
from .models import Job


class JobSerializer(serializers.ModelSerializer[Job]):
    progress = serializers.FloatField(read_only=True, allow_null=True, help_text="Fraction done, 0 to 1.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = Job
        fields = [
            "id", "kind", "params", "status", "queue", "progress", "progress_done", "progress_total", "counts",
            "result", "error", "attempts", "created_by", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = [f for f in fields if f not in ("kind", "params")]

    def validate_kind(self, value: str) -> str:
        kinds = runner.registered_kinds()
        if value not in kinds:
            raise serializers.ValidationError(f"unknown job kind; known kinds: {', '.join(sorted(kinds))}")
        return value

    def validate_params(self, value: Any) -> Any:
        return check_json_object(value)


class JobFilter(filters.FilterSet):
    class Meta:
        model = Job
        fields = ["kind", "status", "queue"]


@extend_schema_view(
    list=extend_schema(summary="List jobs", description="Newest first; filter by kind and status."),
    retrieve=extend_schema(summary="Get a job", description="Status, progress, counts, result and error."),
    create=extend_schema(
        summary="Start a job",
        description="Checks the parameters against the kind (400 naming the parameter), records the job and "
        "queues it; answers 202. A failed job's `error` says why in a sentence (the traceback stays in the log).",
        responses={202: JobSerializer, 400: OpenApiResponse(description="Unknown kind or invalid parameters.")},
    ),
    destroy=extend_schema(summary="Delete a job record", description="Cancels it first if it is still going."),
    retry=extend_schema(
        summary="Retry a failed or cancelled job",
        request=None,
        responses={202: JobSerializer, 409: OpenApiResponse(description="The job is not failed or cancelled.")},
    ),
    cancel=extend_schema(
        summary="Cancel a queued or running job",
        request=None,
        responses={200: JobSerializer, 409: OpenApiResponse(description="The job has already finished.")},
    ),
)
class JobViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Job],
):
    """Background jobs. A job's record is its history, so it is never edited, only cancelled or retried."""

    queryset = Job.objects.select_related("created_by")
    serializer_class = JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["created_at", "status", "kind"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                job = runner.start_job(
                    serializer.validated_data["kind"], serializer.validated_data.get("params") or {}, user=request.user
                )
        except runner.JobParamsError as exc:  # 400 naming the parameter: {"params": {"k": ["must be ..."]}}
            raise ValidationError({"params": {exc.field: [exc.reason]}}) from exc
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance: Job) -> None:
        runner.cancel_job(instance)
        instance.delete()

    def _require_change(self, request: Request) -> None:
        if not request.user.has_perm("jobs.change_job"):
            raise PermissionDenied("needs the jobs.change_job permission")

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        self._require_change(request)
        job = self.get_object()
        try:
            with transaction.atomic():
                runner.retry_job(job)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        self._require_change(request)
        job = self.get_object()
        if not runner.cancel_job(job):
            return Response({"detail": f"job {job.pk} is {job.status}"}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(job).data)

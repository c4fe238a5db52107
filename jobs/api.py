"""REST API for background jobs: start, follow progress, cancel, retry."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.viewsets import check_json_object

from . import chunks as job_chunks
from . import runner
from .models import Job, JobChunk, JobStatus

CHUNK_STATUSES = [str(s) for s in JobStatus]


class JobChunkSerializer(serializers.ModelSerializer[JobChunk]):
    progress = serializers.FloatField(read_only=True, allow_null=True, help_text="Fraction done, 0 to 1.")

    class Meta:
        model = JobChunk
        fields = [
            "index", "params", "status", "progress", "progress_done", "progress_total", "counts", "error",
            "attempts", "started_at", "finished_at",
        ]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer[Job]):
    progress = serializers.FloatField(read_only=True, allow_null=True, help_text="Fraction done, 0 to 1.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    chunks = serializers.SerializerMethodField(
        help_text="A chunked job's chunks by status (`total`, `queued`, `running`, `succeeded`, `failed`, "
        "`cancelled`); null for a job that runs as one task."
    )

    class Meta:
        model = Job
        fields = [
            "id", "kind", "params", "status", "queue", "progress", "progress_done", "progress_total", "counts",
            "result", "error", "attempts", "created_by", "created_at", "started_at", "finished_at", "chunks",
        ]
        read_only_fields = [f for f in fields if f not in ("kind", "params")]

    def get_chunks(self, job: Job) -> dict[str, int] | None:
        if job.plan is None:
            return None
        if hasattr(job, "chunks_queued"):  # the viewset's queryset counted them in its own query
            counted = {status: getattr(job, f"chunks_{status}") for status in CHUNK_STATUSES}
        else:
            counted = dict(job.chunks.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        return {"total": sum(counted.values()), **{status: counted.get(status, 0) for status in CHUNK_STATUSES}}

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
    chunks=extend_schema(
        summary="List a chunked job's chunks",
        description="Each chunk's status, progress, counts and error (empty for a job run as one task).",
        responses={200: JobChunkSerializer(many=True)},
    ),
    retry_chunk=extend_schema(
        summary="Retry one failed chunk of a job",
        description="Queues the chunk again; a failed job runs again and finishes once the chunk succeeds.",
        parameters=[OpenApiParameter("index", int, OpenApiParameter.PATH, description="The chunk's index, from 0.")],
        request=None,
        responses={
            202: JobChunkSerializer, 404: OpenApiResponse(description="No chunk of that index."),
            409: OpenApiResponse(description="The chunk is not failed, or the job was cancelled."),
        },
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

    def get_queryset(self) -> QuerySet[Job]:
        """Chunk counts by status in the same query (a chunked job's summary without a query per row)."""
        counts = {
            f"chunks_{status}": Count("chunks", filter=Q(chunks__status=status)) for status in CHUNK_STATUSES
        }
        return super().get_queryset().annotate(**counts).order_by("-created_at", "-id")  # GROUP BY drops Meta.ordering

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

    @action(detail=True, methods=["get"])
    def chunks(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        rows = job.chunks.order_by("index")
        page = self.paginator.paginate_queryset(rows, request, view=self) if self.paginator is not None else None
        data = JobChunkSerializer(page if page is not None else rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @action(detail=True, methods=["post"], url_path=r"chunks/(?P<index>\d+)/retry")
    def retry_chunk(self, request: Request, pk: str | None = None, index: str | None = None) -> Response:
        self._require_change(request)
        job = self.get_object()
        chunk = job.chunks.filter(index=int(index or 0)).first()
        if chunk is None:
            return Response({"detail": f"job {job.pk} has no chunk {index}"}, status=status.HTTP_404_NOT_FOUND)
        try:
            chunk = job_chunks.retry_chunk(chunk)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(JobChunkSerializer(chunk).data, status=status.HTTP_202_ACCEPTED)

"""The root ``Mutation`` type: inputs, payloads and user errors.

Payloads carry the changed objects and ``errors: [UserError!]!``; a refusal is data
(``errors`` non-empty), not a GraphQL error, so clients branch on ``code``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from ordergraph import models
from ordergraph.models import AttributeType, OrderStatus, PackageType
from ordergraph.resolvers import mutations
from ordergraph.resolvers.node_keys import codec_of, key_of, order_keys
from ordergraph.schema.admin import AdminMutation
from ordergraph.schema.enums import UserErrorCode
from ordergraph.schema.errors import PublicError
from ordergraph.schema.info import GraphInfo
from ordergraph.schema.inputs import LeftOutIsNone
from ordergraph.schema.orders import Order
from ordergraph.schema.packages import Package
from ordergraph.schema.user_errors import UserError, user_errors

__all__ = ["Mutation"]


async def _key(info: GraphInfo, global_id: relay.GlobalID, type_name: str) -> str | None:
    """The key behind an input id; None for another type's id or one that does not
    resolve (a forged id and an unknown one are both NOT_FOUND)."""
    return await key_of(info.context, global_id, type_name)


async def _orders(info: GraphInfo, keys: list[str]) -> list[Order]:
    loaded = await info.context.loaders.order_by_id.load_many(keys)
    ids = codec_of(info.context)
    return [Order.wrap(stored, ids) for stored in loaded if stored is not None]


# --- inputs ------------------------------------------------------------------------------


@strawberry.input(description="One line of a result.")
class ResultAttributeInput(LeftOutIsNone):
    label: str = strawberry.field(description="What the line measures.")
    type: AttributeType = strawberry.field(default=AttributeType.TEXT, description="Kind.")
    value: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text or number as text."
    )
    score: float | None = strawberry.field(
        default=strawberry.UNSET, description="Sub-result score."
    )
    max_score: float | None = strawberry.field(
        default=strawberry.UNSET, description="Sub-result maximum."
    )
    status: OrderStatus | None = strawberry.field(
        default=strawberry.UNSET, description="Sub-result status."
    )
    reference: str | None = strawberry.field(
        default=strawberry.UNSET, description="Your id for the line."
    )

    def to_model(self) -> models.ResultAttribute:
        return models.ResultAttribute(
            type=self.type,
            label=self.label,
            value=self.value,
            score=self.score,
            max_score=self.max_score,
            status=self.status,
            reference=self.reference,
        )


@strawberry.input(description="A file attached to a result.")
class AttachmentInput(LeftOutIsNone):
    url: str = strawberry.field(description="Where the provider can fetch the file.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="File name.")
    content_type: str | None = strawberry.field(default=strawberry.UNSET, description="MIME type.")

    def to_model(self) -> models.Attachment:
        return models.Attachment(url=self.url, name=self.name, content_type=self.content_type)


@strawberry.input(description="A result to write back to the order's provider.")
class SubmitResultInput(LeftOutIsNone):
    order_id: relay.GlobalID = strawberry.field(description="The order (an Order id).")
    status: OrderStatus = strawberry.field(description="Result status.")
    url: str = strawberry.field(description="Where the full result can be seen.")
    score: float | None = strawberry.field(default=strawberry.UNSET, description="Score achieved.")
    max_score: float | None = strawberry.field(
        default=strawberry.UNSET, description="Highest score."
    )
    min_score: float | None = strawberry.field(
        default=strawberry.UNSET, description="Lowest score."
    )
    score_label: str | None = strawberry.field(
        default=strawberry.UNSET, description="Label of the score."
    )
    started_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Started at."
    )
    completed_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Completed at."
    )
    summary: str | None = strawberry.field(default=strawberry.UNSET, description="Short summary.")
    attributes: list[ResultAttributeInput] = strawberry.field(
        default_factory=list, description="Detail lines."
    )
    attachments: list[AttachmentInput] = strawberry.field(
        default_factory=list, description="Attached files."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Repeat-safe key: the same key writes once."
    )

    def to_model(self) -> models.ResultSubmission:
        return models.ResultSubmission(
            status=self.status,
            score=self.score,
            max_score=self.max_score,
            min_score=self.min_score,
            score_label=self.score_label,
            url=self.url,
            started_at=self.started_at,
            completed_at=self.completed_at,
            summary=self.summary,
            attributes=tuple(a.to_model() for a in self.attributes),
            attachments=tuple(a.to_model() for a in self.attachments),
        )


@strawberry.type(description="What submitResult did.")
class SubmitResultPayload:
    order: Order | None = strawberry.field(
        description="The order with its new result (null when nothing was recorded)."
    )
    errors: list[UserError] = strawberry.field(description="Why it did not, if it did not.")


@strawberry.input(description="A person on a hiring team.")
class HiringTeamMemberInput(LeftOutIsNone):
    remote_id: str | None = strawberry.field(default=strawberry.UNSET, description="Id in the ATS.")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="First name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Last name.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Email address.")
    roles: list[str] = strawberry.field(default_factory=list, description="Roles.")

    def to_model(self) -> models.HiringTeamMember:
        return models.HiringTeamMember(
            remote_id=self.remote_id,
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            roles=tuple(self.roles),
        )


@strawberry.input(description="The candidate of a new order.")
class CandidateInput(LeftOutIsNone):
    remote_id: str | None = strawberry.field(default=strawberry.UNSET, description="Id in the ATS.")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="First name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Last name.")
    emails: list[str] = strawberry.field(default_factory=list, description="Emails.")
    phones: list[str] = strawberry.field(default_factory=list, description="Phones.")
    profile_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="Profile link."
    )

    def to_model(self) -> models.Candidate:
        return models.Candidate(
            remote_id=self.remote_id,
            first_name=self.first_name,
            last_name=self.last_name,
            emails=tuple(self.emails),
            phones=tuple(self.phones),
            profile_url=self.profile_url,
        )


@strawberry.input(description="The job of a new order.")
class JobInput(LeftOutIsNone):
    remote_id: str | None = strawberry.field(default=strawberry.UNSET, description="Id in the ATS.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Title.")
    hiring_team: list[HiringTeamMemberInput] = strawberry.field(
        default_factory=list, description="Hiring team."
    )

    def to_model(self) -> models.Job:
        return models.Job(
            remote_id=self.remote_id,
            title=self.title,
            hiring_team=tuple(m.to_model() for m in self.hiring_team),
        )


@strawberry.input(description="An order to create on a connection that takes orders from us.")
class CreateOrderInput(LeftOutIsNone):
    connection_id: relay.GlobalID = strawberry.field(description="A ProviderConnection id.")
    package_id: str = strawberry.field(description="The package's id at the provider.")
    candidate: CandidateInput = strawberry.field(description="Who takes the assessment.")
    job: JobInput | None = strawberry.field(default=strawberry.UNSET, description="For which job.")
    application_remote_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="The application's id in the ATS."
    )
    requester: HiringTeamMemberInput | None = strawberry.field(
        default=strawberry.UNSET, description="Who ordered."
    )
    results_update_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="Where the provider may post results."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Repeat-safe key: the same key creates once."
    )

    def to_model(self) -> models.NewOrder:
        return models.NewOrder(
            package=models.PackageRef(remote_id=self.package_id),
            candidate=self.candidate.to_model(),
            job=self.job.to_model() if self.job else None,
            application=models.Application(remote_id=self.application_remote_id)
            if self.application_remote_id
            else None,
            requester=self.requester.to_model() if self.requester else None,
            results_update_url=self.results_update_url,
        )


@strawberry.type(description="What createOrder did.")
class CreateOrderPayload:
    order: Order | None = strawberry.field(description="The new order.")
    errors: list[UserError] = strawberry.field(description="Why it did not, if it did not.")


@strawberry.input(description="A package to publish.")
class PackageInput(LeftOutIsNone):
    remote_id: str = strawberry.field(description="Your id for the package.")
    name: str = strawberry.field(description="Name shown to recruiters.")
    type: PackageType = strawberry.field(description="Kind of package.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Description.")

    def to_model(self) -> models.Package:
        return models.Package(
            remote_id=self.remote_id, name=self.name, type=self.type, description=self.description
        )


@strawberry.input(description="Packages to publish on a connection.")
class PublishPackagesInput(LeftOutIsNone):
    connection_id: relay.GlobalID = strawberry.field(description="A ProviderConnection id.")
    packages: list[PackageInput] = strawberry.field(
        description="The packages (Kombo: the whole list, replacing what was there)."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Repeat-safe key: the same key publishes once."
    )


@strawberry.type(description="What publishPackages did.")
class PublishPackagesPayload:
    packages: list[Package] = strawberry.field(description="The packages published.")
    warnings: list[str] = strawberry.field(description="What the provider warned about.")
    errors: list[UserError] = strawberry.field(description="Why it did not, if it did not.")


@strawberry.type(description="What refreshOrders did.")
class RefreshOrdersPayload:
    orders: list[Order] = strawberry.field(description="The orders as the providers hold them.")
    errors: list[UserError] = strawberry.field(description="Orders that could not be read.")


MAX_REFRESH = 250


@strawberry.type(
    description="Writes, each sent to the provider and then recorded; and, with the admin "
    "scope, the tenant's provider connections."
)
class Mutation(AdminMutation):
    @strawberry.mutation(
        description="Write an assessment result back to the order's provider. The result "
        "is recorded first and then delivered (retried in the background while the "
        "provider is down, slow or rate-limited): `order.resultDelivery` says where it "
        "stands; a result the provider refuses is also an error here."
    )
    async def submit_result(self, info: GraphInfo, input: SubmitResultInput) -> SubmitResultPayload:
        order_key = await _key(info, input.order_id, "Order")
        if order_key is None:
            return SubmitResultPayload(
                order=None,
                errors=[
                    UserError(
                        code=UserErrorCode.NOT_FOUND,
                        message="no such order",
                        field=["input", "orderId"],
                    )
                ],
            )
        try:
            submission = input.to_model()
        except ValueError as exc:
            raise PublicError(f"invalid result: {exc}", code="INVALID_ARGUMENT") from exc
        outcome = await mutations.submit_result(
            info.context, order_key, submission, idempotency_key=input.idempotency_key
        )
        orders = await _orders(info, outcome.order_keys)
        return SubmitResultPayload(order=orders[0] if orders else None, errors=user_errors(outcome))

    @strawberry.mutation(description="Create an order (StackOne, Unified).")
    async def create_order(self, info: GraphInfo, input: CreateOrderInput) -> CreateOrderPayload:
        connection_id = await _key(info, input.connection_id, "ProviderConnection")
        if connection_id is None:
            return CreateOrderPayload(
                order=None,
                errors=[
                    UserError(
                        code=UserErrorCode.NOT_FOUND,
                        message="no such connection",
                        field=["connectionId"],
                    )
                ],
            )
        outcome = await mutations.create_order(
            info.context, connection_id, input.to_model(), idempotency_key=input.idempotency_key
        )
        orders = await _orders(info, outcome.order_keys)
        return CreateOrderPayload(order=orders[0] if orders else None, errors=user_errors(outcome))

    @strawberry.mutation(description="Publish packages (Kombo replaces the list; Unified upserts).")
    async def publish_packages(
        self,
        info: GraphInfo,
        input: PublishPackagesInput,
    ) -> PublishPackagesPayload:
        connection_id = await _key(info, input.connection_id, "ProviderConnection")
        if connection_id is None:
            return PublishPackagesPayload(
                packages=[],
                warnings=[],
                errors=[
                    UserError(
                        code=UserErrorCode.NOT_FOUND,
                        message="no such connection",
                        field=["connectionId"],
                    )
                ],
            )
        outcome = await mutations.publish_packages(
            info.context,
            connection_id,
            [p.to_model() for p in input.packages],
            idempotency_key=input.idempotency_key,
        )
        return PublishPackagesPayload(
            packages=[
                Package.from_model(connection_id, p, codec_of(info.context))
                for p in outcome.packages
            ],
            warnings=outcome.warnings,
            errors=user_errors(outcome),
        )

    @strawberry.mutation(description="Read orders from their providers now and record changes.")
    async def refresh_orders(
        self, info: GraphInfo, ids: list[relay.GlobalID]
    ) -> RefreshOrdersPayload:
        if len(ids) > MAX_REFRESH:
            raise PublicError(
                f"refreshOrders takes at most {MAX_REFRESH} ids", code="INVALID_ARGUMENT"
            )
        # A non-order id stays in place (as None) so errors name the caller's index.
        keys = await order_keys(
            info.context,
            [global_id.node_id if global_id.type_name == "Order" else "" for global_id in ids],
        )
        outcome = await mutations.refresh_orders(info.context, keys)
        orders = await _orders(info, outcome.order_keys)
        return RefreshOrdersPayload(orders=orders, errors=user_errors(outcome))

"""Deterministic, realistic seed data for the simulators.

Neutral records (not any vendor's wire format): each simulator turns them into its
own vendor's shapes. The same seed always gives the same people, jobs, packages and
orders, so tests and demos are repeatable; ``OrderFactory`` keeps producing new
orders for the same account after seeding (demo activity, ``POST /_sandbox/orders``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "OrderFactory",
    "SeedCandidate",
    "SeedHiringMember",
    "SeedJob",
    "SeedLocation",
    "SeedOrder",
    "SeedPackage",
    "seed_packages",
]

FIRST_NAMES = (
    "Amara", "Bastian", "Chiara", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ibrahim",
    "Jonas", "Keiko", "Lucía", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa",
    "Sven", "Tamsin", "Umar", "Valentina", "Wei", "Ximena", "Yusuf", "Zofia", "Aiko",
    "Bjorn", "Camille", "Diego", "Emeka", "Freya", "Giulia", "Hugo", "Ines", "Jakub",
    "Kwame", "Leila", "Marek", "Noor", "Olga", "Pablo", "Rania", "Soren", "Thandiwe",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Rossi", "Petrov", "Yilmaz", "Haddad", "Berg", "Tanaka",
    "Mensah", "Schneider", "Nakamura", "García", "Fernández", "Karimi", "Nilsson",
    "Sharma", "Dubois", "Moreno", "Andersen", "Clarke", "Siddiqui", "Bianchi", "Zhang",
    "Castillo", "Demir", "Kowalska", "Sato", "Larsen", "Lefèvre", "Alves", "Adeyemi",
    "Holm", "Conti", "Martin", "Costa", "Novak", "Boateng", "Farouk", "Horvath", "Iqbal",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
JOB_TITLES = (
    ("Senior Backend Engineer", "ENG"), ("Frontend Engineer", "ENG"),
    ("Data Scientist", "DATA"), ("Site Reliability Engineer", "OPS"),
    ("Product Designer", "DES"), ("Engineering Manager", "ENG"),
    ("Customer Success Manager", "CS"), ("Account Executive", "SALES"),
    ("QA Automation Engineer", "ENG"), ("Machine Learning Engineer", "DATA"),
    ("Technical Writer", "DOC"), ("Security Engineer", "SEC"),
)  # fmt: skip
CITIES = (
    ("Berlin", "Berlin", "10115", "DE"), ("London", "England", "EC1A 1BB", "GB"),
    ("Amsterdam", "North Holland", "1011", "NL"), ("Stockholm", "Stockholm", "111 20", "SE"),
    ("Madrid", "Madrid", "28001", "ES"), ("Lisbon", "Lisbon", "1100-148", "PT"),
    ("Toronto", "Ontario", "M5H 2N2", "CA"), ("Austin", "Texas", "73301", "US"),
)  # fmt: skip
STREETS = ("Main Street", "Harbour Road", "Market Square", "Station Avenue", "Park Lane")
PACKAGES = (
    ("Python Backend Challenge", "SKILLS_TEST", "90-minute take-home on APIs and SQL."),
    ("React Frontend Exercise", "SKILLS_TEST", "Build a small component with tests."),
    ("SQL Fundamentals", "SKILLS_TEST", "30 questions on joins, windows and indexes."),
    ("System Design Interview", "VIDEO_INTERVIEW", "Recorded whiteboard session, 45 minutes."),
    ("Culture and Values Survey", "BEHAVIORAL", "Situational judgement questionnaire."),
    ("Professional References", "REFERENCE_CHECK", "Two references contacted by email."),
    ("Background Screening", "BACKGROUND_CHECK", "Identity and employment history check."),
)


@dataclass(frozen=True)
class SeedLocation:
    street_1: str
    city: str
    state: str
    zip_code: str
    country: str

    @property
    def raw(self) -> str:
        return f"{self.street_1}, {self.zip_code} {self.city}, {self.country}"


@dataclass(frozen=True)
class SeedHiringMember:
    remote_id: str
    first_name: str
    last_name: str
    email: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SeedJob:
    remote_id: str
    title: str
    code: str
    description: str
    location: SeedLocation
    hiring_team: tuple[SeedHiringMember, ...]


@dataclass(frozen=True)
class SeedCandidate:
    remote_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    profile_url: str


@dataclass(frozen=True)
class SeedPackage:
    id: str
    name: str
    type: str  # SKILLS_TEST | VIDEO_INTERVIEW | BEHAVIORAL | REFERENCE_CHECK | BACKGROUND_CHECK
    description: str


@dataclass
class SeedOrder:
    """A neutral order. ``status`` is one of the canonical names; each simulator
    maps it into what its vendor can express."""

    id: str
    package: SeedPackage
    candidate: SeedCandidate
    job: SeedJob
    application_id: str
    requester: SeedHiringMember
    status: str
    created_at: datetime
    updated_at: datetime
    extra: dict[str, str] = field(default_factory=dict)


def seed_packages() -> list[SeedPackage]:
    """The vendor's catalogue, the same on every account."""
    return [
        SeedPackage(id=f"pkg_{index + 1:03d}", name=name, type=kind, description=text)
        for index, (name, kind, text) in enumerate(PACKAGES)
    ]


# Statuses a freshly seeded order starts in, weighted toward OPEN like a live ATS.
_SEED_STATUSES = (
    ["OPEN"] * 6 + ["IN_PROGRESS"] * 2 + ["COMPLETED"] * 3 + ["CANCELLED", "REJECTED", "FAILED"]
)
_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class OrderFactory:
    """Makes orders for one account, deterministically from (seed, account).

    ``id_prefix`` lets each simulator use its vendor's id style; ``statuses`` limits
    the seeded statuses to what the vendor can express.
    """

    def __init__(
        self,
        *,
        seed: int,
        account: str,
        id_prefix: str,
        statuses: tuple[str, ...] | None = None,
    ) -> None:
        self.rng = random.Random(f"{seed}:{account}")
        self.account = account
        self.id_prefix = id_prefix
        allowed = statuses or tuple(sorted(set(_SEED_STATUSES)))
        self.statuses = [s for s in _SEED_STATUSES if s in allowed] or ["OPEN"]
        self.packages = seed_packages()
        self.jobs = [self._job(index) for index in range(8)]
        self.counter = 0
        self.clock = _EPOCH + timedelta(minutes=self.rng.randrange(0, 600))

    def _person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    @staticmethod
    def _email(first: str, last: str, number: int, domain: str) -> str:
        local = f"{first}.{last}".lower()
        # Keep emails ASCII: ATSs normalise accents away and validators expect it.
        local = local.encode("ascii", "ignore").decode() or "candidate"
        return f"{local}{number}@{domain}"

    def _member(self, index: int, roles: tuple[str, ...]) -> SeedHiringMember:
        first, last = self._person()
        return SeedHiringMember(
            remote_id=f"usr_{self.account[-4:]}_{index:03d}",
            first_name=first,
            last_name=last,
            email=self._email(first, last, index, "hr.example.com"),
            roles=roles,
        )

    def _job(self, index: int) -> SeedJob:
        title, department = self.rng.choice(JOB_TITLES)
        city, state, zip_code, country = self.rng.choice(CITIES)
        team = (
            self._member(index * 2, ("RECRUITER",)),
            self._member(index * 2 + 1, ("HIRING_MANAGER",)),
        )
        return SeedJob(
            remote_id=f"job_{self.account[-4:]}_{index + 1:03d}",
            title=title,
            code=f"{department}-{100 + index}",
            description=f"<p>We are hiring a {title} to join our {department} team.</p>",
            location=SeedLocation(
                street_1=f"{self.rng.randrange(1, 200)} {self.rng.choice(STREETS)}",
                city=city,
                state=state,
                zip_code=zip_code,
                country=country,
            ),
            hiring_team=team,
        )

    def next_order(self, *, status: str | None = None, at: datetime | None = None) -> SeedOrder:
        """A new order; seeded ones spread over time, live ones stamped ``at``."""
        self.counter += 1
        number = self.counter
        first, last = self._person()
        job = self.rng.choice(self.jobs)
        if at is None:
            self.clock += timedelta(minutes=self.rng.randrange(3, 240))
            at = self.clock
        candidate = SeedCandidate(
            remote_id=f"cand_{self.account[-4:]}_{number:05d}",
            first_name=first,
            last_name=last,
            email=self._email(first, last, number, self.rng.choice(EMAIL_DOMAINS)),
            phone=f"+49 30 {self.rng.randrange(1000000, 9999999)}",
            profile_url=f"https://ats.example.com/candidates/{number}",
        )
        return SeedOrder(
            id=f"{self.id_prefix}{self.account[-4:]}{number:06d}",
            package=self.rng.choice(self.packages),
            candidate=candidate,
            job=job,
            application_id=f"app_{self.account[-4:]}_{number:05d}",
            requester=job.hiring_team[0],
            status=status or self.rng.choice(self.statuses),
            created_at=at,
            updated_at=at,
        )

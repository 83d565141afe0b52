"""Which recipients of a send are on the tenant's suppression list (hard bounces).

Every send asks; the lookups of the messages handled at the same time go to the
store as one query per tenant (`Batcher`), on the `(tenant_id, email)` index.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable

from mailroom.sender.batching import Batcher
from mailroom.shared.collections import SUPPRESSIONS
from mailroom.shared.store import Store

_Lookup = tuple[str, frozenset[str]]


class SuppressionList:
    def __init__(self, store: Store) -> None:
        self._suppressions = store.collection(SUPPRESSIONS)
        self._lookups: Batcher[_Lookup, set[str]] = Batcher(self._lookup_batch)

    async def suppressed(self, tenant_id: str, addresses: Iterable[str]) -> set[str]:
        """The given addresses that are suppressed (compared case-insensitively)."""
        wanted = frozenset(addresses)
        if not wanted:
            return set()
        listed = await self._lookups.submit((tenant_id, wanted))
        return {a for a in wanted if a.lower() in listed}

    async def _lookup_batch(self, lookups: list[_Lookup]) -> list[set[str]]:
        by_tenant: dict[str, set[str]] = defaultdict(set)
        for tenant_id, addresses in lookups:
            by_tenant[tenant_id] |= addresses | {a.lower() for a in addresses}
        tenants = list(by_tenant)
        found = await asyncio.gather(*(self._listed(t, by_tenant[t]) for t in tenants))
        listed = dict(zip(tenants, found, strict=True))
        return [listed[tenant_id] for tenant_id, _ in lookups]

    async def _listed(self, tenant_id: str, candidates: set[str]) -> set[str]:
        docs = self._suppressions.find(
            {"tenant_id": tenant_id, "email": {"$in": sorted(candidates)}}, {"email": 1}
        )
        return {str(doc["email"]).lower() async for doc in docs}

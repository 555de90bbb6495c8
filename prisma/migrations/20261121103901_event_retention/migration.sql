-- CreateTable
CREATE TABLE "CatalogEventRetention" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "prunedThrough" BIGINT NOT NULL DEFAULT 0,
    "prunedAt" TIMESTAMP(3),

    CONSTRAINT "CatalogEventRetention_pkey" PRIMARY KEY ("id")
);

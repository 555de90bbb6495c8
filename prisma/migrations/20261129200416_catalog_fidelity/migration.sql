-- AlterTable
ALTER TABLE "CatalogReload" ADD COLUMN     "reason" TEXT;

-- AlterTable
ALTER TABLE "Tool" ADD COLUMN     "loadedFrom" VARCHAR(16);

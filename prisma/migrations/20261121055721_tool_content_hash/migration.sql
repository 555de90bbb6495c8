-- AlterTable
ALTER TABLE "Tool" ADD COLUMN     "contentHash" VARCHAR(64);

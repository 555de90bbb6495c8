-- AlterTable
ALTER TABLE "Tool" ADD COLUMN     "successor" VARCHAR(200);

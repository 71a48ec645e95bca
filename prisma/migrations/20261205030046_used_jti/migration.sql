-- CreateTable
CREATE TABLE "UsedJti" (
    "key" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "UsedJti_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "UsedJti_expiresAt_idx" ON "UsedJti"("expiresAt");


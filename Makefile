# The seed's entry points, kept for people's habits and existing CI. Each calls image-mirror.
# Bare `make` lists the targets (the seed's default ran add-tag, which exits 2 without IMAGES
# and TAGS). A target's `## ` comment is its line in that list.
IMAGE_MIRROR ?= image-mirror

.DEFAULT_GOAL := help
.PHONY: help add-tag-to-existing-image.sh add-full-image-wrapper.sh check-new-images-exist.sh \
        sort-images-list.sh image-mirror.sh test demo bench

help: ## list these targets
	@echo 'Targets (make TARGET):'
	@awk 'BEGIN { FS = ":.*## " } /^[A-Za-z0-9_.-]+:.*## / { printf "  %-30s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

add-tag-to-existing-image.sh: ## image-mirror add-tag (env IMAGES, TAGS)
	$(IMAGE_MIRROR) add-tag

add-full-image-wrapper.sh: ## image-mirror add-full-image (env FULL_IMAGES)
	$(IMAGE_MIRROR) add-full-image

check-new-images-exist.sh: ## image-mirror check-new-images: lines added since the base exist
	$(IMAGE_MIRROR) check-new-images

sort-images-list.sh: ## image-mirror sort: sort the images-list in place
	$(IMAGE_MIRROR) sort

image-mirror.sh: ## image-mirror sync: mirror every line (env IMAGES_FILE)
	$(IMAGE_MIRROR) sync

test: ## the whole test suite (scripts/test.sh installs what is missing)
	scripts/test.sh

demo: ## the main job end to end on this machine (scripts/demo.sh)
	scripts/demo.sh

bench: ## the benchmarks (options in BENCH_ARGS)
	python -m bench $(BENCH_ARGS)
